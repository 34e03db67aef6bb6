"""Alembic migrations of the store, run by ``open_database`` at every start."""
