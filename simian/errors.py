"""Exception types shared across the library, and the one formatter of validation errors.

Every message names the offending field or input and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

#: Longest excerpt of a bad value echoed back in a message (a 5 MB value must not flood stderr).
MAX_SHOWN_CHARS = 200


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


def shorten(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


#: At most this many problems are listed; the rest are counted (10,000 bad entries print 21 lines, not 10,000).
MAX_LISTED_PROBLEMS = 20


def capped(lines: list[str], limit: int = MAX_LISTED_PROBLEMS) -> list[str]:
    """The first `limit` lines, then one saying how many more there are (lines capped already stay as they are)."""
    if len(lines) <= limit or (len(lines) == limit + 1 and lines[-1].startswith("... and ")):
        return lines
    more = len(lines) - limit
    return [*lines[:limit], f"... and {more} more problem{'s' if more > 1 else ''} (fix these first, then run again)"]


def _quoted_field(path: str) -> str:
    return f"field '{path}'"


def validation_problems(exc: ValidationError, name: Callable[[str], str] = _quoted_field) -> list[str]:
    """One line per problem: the field (as `name` words it), what is wrong, the bad value (shortened)."""
    lines = []
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        bad = err.get("input")
        shown = "" if isinstance(bad, dict | list) else f" (got {shorten(repr(bad))})"
        lines.append(f"{name(path)}: {message}{shown}")
    return lines


def invalid_input(
    exc: ValidationError, where: str | None = None, name: Callable[[str], str] = _quoted_field, sep: str = "\n"
) -> InvalidInputError:
    """An InvalidInputError listing every problem of `exc` after `where`: a line each, or joined by `sep`."""
    prefix = f"{where}: " if where else ""
    lines = capped(validation_problems(exc, name))
    if sep == "\n":
        return InvalidInputError("\n".join(line if line.startswith("... and ") else prefix + line for line in lines))
    return InvalidInputError(prefix + sep.join(lines))
