"""Clinician accounts."""
