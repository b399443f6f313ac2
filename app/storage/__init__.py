"""Persistence: SQLAlchemy models, the write batcher, repositories, the outbox and the audit chain."""
