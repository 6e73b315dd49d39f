"""Subcommands of ``dystonia-box``, one module per capability."""
