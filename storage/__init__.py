"""SQLAlchemy models, repositories, engine set-up and Alembic migrations."""
