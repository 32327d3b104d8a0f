"""`python -m gesture_app` runs `gesture-app`."""

import sys

from .cli import main

sys.exit(main())
