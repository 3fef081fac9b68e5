"""Prefect- and Redis-facing parts: jobs, cache keys, locks, tasks, local stack, set-up.

The flows in `flows/` stay thin and call into here; the renderer never imports this package.
"""
