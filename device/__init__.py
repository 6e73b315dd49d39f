"""On-box runtime of the dystonia screening box."""

__version__ = "0.1.0"
