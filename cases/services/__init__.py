"""Writes of the back office. Each service owns its transaction, validation, timeline event and task enqueueing."""
