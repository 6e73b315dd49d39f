"""Keeping a box running: backups, diagnostics, storage limits, unclean stops, recovery."""
