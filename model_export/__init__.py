"""Offline model work on a workstation: synthetic cohort, training, evaluation, export."""
