"""Errors of the guarded fetcher, in the product's own hierarchy (see `simian.errors`)."""

from __future__ import annotations

from simian.errors import AssetFetchError, SimianError


class FetchRefused(SimianError):
    """A request or an answer broke the network policy (host, scheme, address, size): never retried."""


class ResponseTooLarge(FetchRefused):
    """An answer was larger than its cap (advertised size, or a SIMIAN_*_MAX_BYTES setting)."""


class DeadlineExceeded(AssetFetchError):
    """A download did not finish within its total deadline (SIMIAN_DOWNLOAD_DEADLINE_S)."""
