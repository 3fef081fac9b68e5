#!/bin/sh
# The render worker image's default command: one Prefect worker of pool `gpu`.
#   SIMIAN_WORKER_LIMIT  concurrent flow runs (default 1: one container per GPU)
#   SIMIAN_WORKER_NAME   worker name shown in the UI (default: Prefect picks a unique one)
# Extra arguments are passed on to `prefect worker start`.
# exec: the worker replaces this shell, so tini's signals reach it directly.
set -eu
set -- --pool gpu --limit "${SIMIAN_WORKER_LIMIT:-1}" --with-healthcheck "$@"
if [ -n "${SIMIAN_WORKER_NAME:-}" ]; then
    set -- "$@" --name "$SIMIAN_WORKER_NAME"
fi
exec prefect worker start "$@"
