"""All security set-up in one place: headers, CSRF, rate limits, API authentication.

- Content-Security-Policy without inline script, frame denial, no-sniff and a
  strict referrer policy on every response (flask-talisman).
- CSRF on every form (Flask-WTF); the JSON API is exempt because it accepts
  only bearer tokens, never the session cookie.
- Sign-in attempts are rate limited per client address (Flask-Limiter; memory
  storage for the embedded default, QMS_RATELIMIT_STORAGE_URI=redis://… in production).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from werkzeug.routing import IntegerConverter

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
#: Swagger UI sets style attributes from its bundle; its page alone allows inline styles.
API_DOCS_CSP = {**CSP, "style-src": "'self' 'unsafe-inline'"}
#: Lifecycle diagrams are drawn on the server and styled by the site's stylesheet: their pages need
#: no exception (the name stays while pages still pass it; it is the site's policy).
DIAGRAM_CSP = CSP

LOGIN_LIMIT = "10 per minute;100 per hour"

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
talisman = Talisman()


MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<id:…>`` in routes: a record id the databases can hold; larger numbers are simply not found."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def refuse_nul_characters() -> None:
    """No field of a web request may contain a NUL character (PostgreSQL cannot store one).

    The API validates its own input and answers 422 naming the field.
    """
    if request.path.startswith("/api/"):
        return
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if "\x00" in value or "\x00" in name:
                abort(400, description=f"The field '{name.replace(chr(0), '')}' must not contain NUL characters.")


def init_security(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.before_request(refuse_nul_characters)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("QMS_RATELIMIT_STORAGE_URI", "memory://"))
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config.get("QMS_FORCE_HTTPS", False),
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        strict_transport_security=app.config.get("QMS_FORCE_HTTPS", False),
    )
