"""huggingface_hub on the guarded transport, through the library's own hook (`set_client_factory`).

The library keeps one shared httpx2 client per process; installing our factory makes that client use
`GuardedTransport`, so `hf_hub_download` inside a `fetch_scope` obeys the scope (hosts, addresses, every
redirect hop, deadline, byte cap) while requests outside any scope (publishing) behave as before. The
library's own request hooks (offline mode, request ids) are kept.
"""

from __future__ import annotations

import threading

import httpx2
from huggingface_hub import get_session, set_client_factory

from simian.net.policy import NetworkPolicy
from simian.net.transport import current_scope, guarded_client

DEFAULT_ENDPOINT = "https://huggingface.co"
# Where the Hub serves LFS/Xet file content from (its documented CDN and bridge hosts).
HUB_FILE_HOSTS = ("huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co")
_XET_HASH = "X-Xet-Hash"

_installed = False
_install_lock = threading.Lock()


def hub_policy(endpoint: str | None, extra_hosts: tuple[str, ...] = ()) -> NetworkPolicy:
    return NetworkPolicy(
        "Hugging Face Hub",
        endpoint or DEFAULT_ENDPOINT,
        "HF_ENDPOINT",
        file_hosts=HUB_FILE_HOSTS,
        extra_hosts=extra_hosts,
    )


def _plain_http_downloads(response: httpx2.Response) -> None:
    """Inside a scope, hide the Xet hash so huggingface_hub downloads over this (guarded) client instead of
    handing the transfer to hf_xet's own HTTP stack, which no policy here could see."""
    if current_scope() is not None:
        response.headers.pop(_XET_HASH, None)


def install_hub_client() -> None:
    """Make huggingface_hub's shared client the guarded one (once per process; idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        library_hooks = get_session().event_hooks
        request_hooks = list(library_hooks.get("request", []))
        response_hooks = [*library_hooks.get("response", []), _plain_http_downloads]
        set_client_factory(lambda: guarded_client(request_hooks=request_hooks, response_hooks=response_hooks))
        _installed = True
