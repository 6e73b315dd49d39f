"""A screening session on the box: the steps, recording, quality checks, processing."""
