"""The thin Qt layer: both windows, their worker threads, widgets, image conversion and Qt set-up (the only PySide6 code)."""
