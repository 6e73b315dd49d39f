"""Presenting a session's results: charts, plain-language summary, PDF report, data export."""
