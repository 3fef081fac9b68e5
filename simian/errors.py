"""Exception types shared across the library.

Every message names the offending field or input and says how to fix it.
"""


class SimianError(Exception):
    """Base class for errors the user can act on."""


class InvalidInputError(SimianError, ValueError):
    """Bad input found before any work started: never retried."""


class AssetError(SimianError):
    """An asset could not be found, fetched or verified."""


class AssetNotFoundError(AssetError, InvalidInputError):
    """The asset reference names nothing the source knows."""


class AssetFetchError(AssetError):
    """A transient failure fetching an asset (network, server error); worth a retry."""
