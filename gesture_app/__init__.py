"""`gesture-app` and `gesture-capture`. `core/` is everything without Qt (sources, the one stream loop, the
pipeline, overlays, headless runs, the capture controller), `qt/` the thin windows over it, `actions/` the
Qt-free gesture-to-key engine; `cli.py` and `capture_cli.py` are the command lines."""
