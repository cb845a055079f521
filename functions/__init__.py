"""Lambda entry points: one folder per function, ``handler.py`` only."""
