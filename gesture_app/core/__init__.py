"""The app's Qt-free core: sources, the one stream loop, the per-frame pipeline, overlays, headless runs and capture logic."""
