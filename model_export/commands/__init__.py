"""Subcommands of ``python -m model_export``, one module each."""
