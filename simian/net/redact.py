"""Keep credentials that live inside configured URLs (user:password@host, signed queries) out of output."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@]+@")
#: A URL's query string (up to white space, a quote or a fragment): signed URLs carry their signature there.
_QUERY = re.compile(r"(?P<url>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s?#\"'<>]*)\?[^\s#\"'<>]+")


def redact_url(url: str) -> str:
    """The URL without credentials or query (signed URLs carry secrets in their query string)."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
    except ValueError:
        return redact_credentials(url)
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_credentials(text: str) -> str:
    """`text` with every `scheme://user:password@` turned into `scheme://***@` and every URL's query string into
    `?***` (a signed URL's `?sig=...` logged by an HTTP client at -v included)."""
    return _QUERY.sub(r"\g<url>?***", _USERINFO.sub(r"\g<scheme>***@", text))


class RedactCredentials(logging.Filter):
    """A handler filter that rewrites each record's message without URL credentials (any logger, any level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = redact_credentials(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
