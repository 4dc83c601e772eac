"""One ``Content-Disposition`` for every file the app hands out, whatever its name.

A header must be Latin-1, so a revision named ``отчёт.pdf`` written into it as it is makes the
server fail (a 500).  RFC 6266 with RFC 5987 says how: ``filename*=UTF-8''<percent-encoded>``
for browsers (all current ones read it), and a plain ASCII ``filename="…"`` beside it for the
rest.  Every download, web and API, goes through :func:`content_disposition` or
:func:`send_download`; ``tests/core/test_downloads.py`` checks that no route builds its own.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from flask import Response, send_file

__all__ = ["ascii_fallback", "content_disposition", "send_download"]

_TOKEN = re.compile(r"[A-Za-z0-9!#$&+.^_`|~-]+")
_NOT_SAFE = re.compile(r"[^A-Za-z0-9!#$&+.^_`|~ ()\[\]{},;=@-]+")


def ascii_fallback(filename: str) -> str:
    """``filename`` in plain printable ASCII: accents dropped, other letters replaced by ``_``,
    no quotes, backslashes or control characters; never empty."""
    name = unicodedata.normalize("NFKD", filename or "")
    name = "".join(ch for ch in name if not unicodedata.combining(ch))
    name = _NOT_SAFE.sub("_", name).strip(" .")
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    if not stem.strip("_ "):
        stem = "download"  # nothing of the name survived but perhaps its extension
    return (stem[:200] + dot + ext[:20]).strip(" .")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """The header value naming ``filename`` (any Unicode) for an attachment, or ``inline`` to show it."""
    kind: Literal["inline", "attachment"] = "inline" if inline else "attachment"
    name = " ".join(unicodedata.normalize("NFC", filename or "").split()) or "download"
    name = "".join(ch for ch in name if ch.isprintable())
    fallback = ascii_fallback(name)
    # a token as it is (as werkzeug writes it), anything else quoted
    value = f"{kind}; filename={fallback}" if _TOKEN.fullmatch(fallback) else f'{kind}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def send_download(
    source: bytes | Path,
    filename: str,
    mimetype: str,
    *,
    inline: bool = False,
    cache_control: str = "no-store",
) -> Response:
    """A response carrying ``source`` (bytes, or a file streamed from disk) named ``filename``."""
    if isinstance(source, Path):
        response = send_file(source, mimetype=mimetype, max_age=0)
    else:
        response = Response(source, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, inline=inline)
    response.headers["Cache-Control"] = cache_control
    return response
