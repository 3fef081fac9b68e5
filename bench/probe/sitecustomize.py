"""Bench probe (only on PYTHONPATH when `bench/fanout_scale.py` starts its stack): every flow-run process counts its
HTTP requests to the Prefect API and records its peak RSS in `SIMIAN_BENCH_PROBE_DIR/<flow run id>.json`.

Prefect's clients are httpx clients, so wrapping `send` counts every request a flow run makes (events travel over
a websocket, which this does not count).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time

import httpx

_folder = os.environ.get("SIMIAN_BENCH_PROBE_DIR")
_counts: dict[int, list[float]] = {}  # pid -> [requests, first request at, last request at]
_lock = threading.Lock()  # Prefect's sync and async clients send from different threads


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _count() -> None:
    run_id = os.environ.get("PREFECT__FLOW_RUN_ID")
    if _folder is None or run_id is None:
        return
    with _lock:
        now = time.time()
        entry = _counts.setdefault(os.getpid(), [0, now, now])  # a forked child counts from zero
        entry[0] += 1
        entry[2] = now
        record = {"pid": os.getpid(), "requests": entry[0], "first": entry[1], "last": now}
        record["peak_rss_mb"] = _peak_rss_mb()
        tmp = os.path.join(_folder, f".{run_id}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(tmp, os.path.join(_folder, f"{run_id}.json"))


if _folder is not None:
    _send, _asend = httpx.Client.send, httpx.AsyncClient.send

    def _safely_count() -> None:
        with contextlib.suppress(Exception):  # the probe must never fail a flow run
            _count()

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        _safely_count()
        return _send(self, request, **kwargs)

    async def asend(self, request, **kwargs):  # type: ignore[no-untyped-def]
        _safely_count()
        return await _asend(self, request, **kwargs)

    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = asend  # type: ignore[method-assign]
