"""Imported once by the `simian` worker's forkserver: everything a flow run imports, loaded before the fork.

A module that fails to import here is only logged: the forked flow run imports it again and reports
the error where the user sees it, on the flow run.
"""

from __future__ import annotations

import importlib
import logging

#: The engine, the deployments' flows and the libraries they pull in (most of a flow run's start-up).
MODULES = [
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.flows",
    "prefect.runtime",
    "flows.render_range",
    "flows.render_chunk",
    "simian.orchestration.warm_worker",
]

for _name in MODULES:
    try:
        importlib.import_module(_name)
    except Exception:  # noqa: BLE001 - reported again, on the flow run, when it imports the module itself
        logging.getLogger(__name__).warning("forkserver could not preload %s", _name, exc_info=True)
