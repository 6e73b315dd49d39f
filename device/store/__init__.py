"""The box's store: SQLite in WAL mode for records, take files beside it for recordings."""
