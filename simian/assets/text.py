"""Text from outside (asset annotations, recipe files) made safe for captions, sidecars and dataset cards.

The rule, in the README too: control characters (C0 and C1, ESC and NUL among them) and the invisible
formatting characters that reorder or hide text (bidi overrides and isolates such as U+202E, zero-width
characters, the byte-order mark) are removed, runs of white space become one space, and the text is cut to a
length cap with "...". In Markdown (the dataset card), characters that start markup (`<`, `[`, `]`, `(`, `)`,
backticks, `*`, `_`, `|`, `#`, `!`, `\\`) are escaped, so a name cannot open a link (`](javascript:`), a
script or a table cell.
"""

from __future__ import annotations

import re
import unicodedata

#: Bidi embeddings, overrides and isolates, marks, zero-width characters, the BOM: they reorder or hide text.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"([\\`*_\[\]()<>|#!])")


def unsafe_characters(text: str, allowed: str = "") -> list[str]:
    """The control and invisible formatting characters in `text` (but those in `allowed`), as U+XXXX."""
    found = {ch for ch in text if (unicodedata.category(ch) == "Cc" and ch not in allowed) or _INVISIBLE.match(ch)}
    return [f"U+{ord(ch):04X}" for ch in sorted(found)]


def clean_text(text: str, max_chars: int) -> str:
    """One line of plain text: no control or invisible formatting characters, white space collapsed, capped."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()
    return text if len(text) <= max_chars else text[: max_chars - 3].rstrip() + "..."


def markdown_text(text: str, max_chars: int) -> str:
    """`clean_text`, with the characters that start Markdown or HTML markup escaped."""
    return _MARKUP.sub(r"\\\1", clean_text(text, max_chars))
