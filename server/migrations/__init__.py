"""The schema's history: Alembic migrations (versions/) and the helpers they share."""
