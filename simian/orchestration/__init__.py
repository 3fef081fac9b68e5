"""What runs inside the flows: jobs, cache keys, locks, the render task, chunks, fan-out, publishing.

The flows in `flows/` stay thin and call into here; the renderer never imports this package.
Operator tooling (set-up, the local stack) lives in `simian.operations`.
"""
