"""The body limit where the server cannot enforce it (router/limits.py): a chunked body's size shows
only as it is read, and werkzeug's bounded read of one stops at the limit without saying the body
went on, so a body cut short would be judged as malformed JSON (400) rather than refused (413)."""

from __future__ import annotations

import io
from typing import Any


def declared_over(content_length: str | None, limit: int | None) -> bool:
    """Does a Content-Length header say more than `limit` bytes? (Only plain ASCII digits count:
    `"²".isdigit()` is true too.)"""
    return (limit is not None and content_length is not None and content_length.isascii()
            and content_length.isdigit() and int(content_length) > limit)


def over_the_limit(environ: dict[str, Any], limit: int) -> bool:
    """Is the request's body over `limit` bytes? A chunked one (no Content-Length, a stream the server
    ends) is read here, one byte past the limit at most, and kept for the request to read as usual."""
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        return declared_over(declared, limit)
    if "wsgi.input_terminated" not in environ:
        return False
    raw = environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        return True
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
    return False
