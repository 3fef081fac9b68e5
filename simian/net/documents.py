"""JSON from outside (answers, combinations files, compressed indexes) parsed under limits on what it becomes.

A byte cap alone does not bound memory: `[{},{},...]` grows about 60 times when parsed (a 40 MB body to 2.4 GB).
So before parsing, the document's structure is counted on the raw bytes, at C speed: elements (every value
separator and container) and nesting depth, with strings blanked first so their brackets and commas do not
count. Past SIMIAN_JSON_MAX_ELEMENTS or SIMIAN_JSON_MAX_DEPTH it is refused, naming the setting.
"""

from __future__ import annotations

import json
import re
from typing import Any

from simian.errors import InvalidInputError

#: A JSON string: a quote, then anything but a quote or backslash, or an escape, then the closing quote.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_INNERMOST = re.compile(rb"\[\]|\{\}")


class DocumentTooLarge(InvalidInputError):
    """A document that would parse into more than the limits allow."""


_BRACKETS = b"[]{}"
_ALL_BUT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)


def _upper_bound(data: bytes) -> int:
    return data.count(b",") + data.count(b"[") + data.count(b"{") + 1


def _depth(blanked: bytes, max_depth: int) -> int:
    """Nesting depth of string-free JSON, counted up to `max_depth` + 1: innermost pairs removed level by level."""
    brackets = blanked.translate(None, _ALL_BUT_BRACKETS)
    depth = 0
    while brackets and depth <= max_depth:
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:
            break  # unbalanced: json.loads says where
        depth += 1
    return depth


def check_structure(data: bytes, what: str, max_elements: int, max_depth: int) -> None:
    """Refuse a document that would parse into more than `max_elements` elements or nest deeper than `max_depth`.

    Counting is on the raw bytes; strings are blanked (their commas and brackets are text) only where the quick
    count could be over a limit."""
    blanked: bytes | None = None
    elements = _upper_bound(data)
    if elements > max_elements:
        blanked = _STRING.sub(b'""', data)
        elements = _upper_bound(blanked)
        if elements > max_elements:
            raise DocumentTooLarge(
                f"{what} holds about {elements} JSON elements, over SIMIAN_JSON_MAX_ELEMENTS ({max_elements}); "
                "split it (or draw from a seed) or raise the setting"
            )
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return
    if _depth(blanked if blanked is not None else _STRING.sub(b'""', data), max_depth) > max_depth:
        raise DocumentTooLarge(
            f"{what} nests more than {max_depth} levels deep (SIMIAN_JSON_MAX_DEPTH); no document the product "
            "reads needs that"
        )


def loads_bounded(data: bytes | str, what: str, max_elements: int, max_depth: int) -> Any:
    """json.loads after `check_structure`; DocumentTooLarge when over the limits (json's own errors pass)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    check_structure(raw, what, max_elements, max_depth)
    return json.loads(data)
