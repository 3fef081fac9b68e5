"""The guarded fetcher: every outbound request Simian makes on its own goes through here.

- `NetworkPolicy`: configured hosts only; internal addresses refused unless the endpoint lives there.
- `Fetcher`, `fetch_document`: JSON answers, documents and cached files, with a total deadline and byte caps.
- `install_hub_client` / `hub_policy`: the same transport under huggingface_hub, via its client hook.
- `DocumentTooLarge`, `loads_bounded`: JSON from outside parsed under element and depth limits.
- `redact_url`, `redact_credentials`, `RedactCredentials`: keep URL credentials out of messages and logs.

Names load on first use, so that `simian.net.redact` (imported by the CLI's logging set-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers
    from simian.net.documents import DocumentTooLarge, loads_bounded
    from simian.net.errors import DeadlineExceeded, FetchRefused, ResponseTooLarge
    from simian.net.fetch import Fetcher, FetchLimits, download_retry, fetch_document
    from simian.net.hub_client import hub_policy, install_hub_client
    from simian.net.policy import NetworkPolicy
    from simian.net.redact import RedactCredentials, redact_credentials, redact_url
    from simian.net.transport import FetchScope, fetch_scope

_EXPORTS = {
    "DocumentTooLarge": "simian.net.documents",
    "loads_bounded": "simian.net.documents",
    "DeadlineExceeded": "simian.net.errors",
    "FetchRefused": "simian.net.errors",
    "ResponseTooLarge": "simian.net.errors",
    "FetchLimits": "simian.net.fetch",
    "Fetcher": "simian.net.fetch",
    "download_retry": "simian.net.fetch",
    "fetch_document": "simian.net.fetch",
    "hub_policy": "simian.net.hub_client",
    "install_hub_client": "simian.net.hub_client",
    "NetworkPolicy": "simian.net.policy",
    "RedactCredentials": "simian.net.redact",
    "redact_credentials": "simian.net.redact",
    "redact_url": "simian.net.redact",
    "FetchScope": "simian.net.transport",
    "fetch_scope": "simian.net.transport",
}
__all__ = [
    "DeadlineExceeded",
    "DocumentTooLarge",
    "FetchLimits",
    "FetchRefused",
    "FetchScope",
    "Fetcher",
    "NetworkPolicy",
    "RedactCredentials",
    "ResponseTooLarge",
    "download_retry",
    "fetch_document",
    "fetch_scope",
    "hub_policy",
    "install_hub_client",
    "loads_bounded",
    "redact_credentials",
    "redact_url",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simian.net' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
