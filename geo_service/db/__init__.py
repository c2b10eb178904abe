"""Database access: the engine, the embedded cluster and migrations."""
