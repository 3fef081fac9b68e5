"""Prefect flows: thin tables of contents over `simian.orchestration`."""
