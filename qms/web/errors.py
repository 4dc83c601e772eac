"""Error pages: people get a page, API clients get JSON."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

#: what a page says instead of the web server's own wording ("read-protected", "the requested URL"),
#: when the view gave no reason of its own
IN_WORDS = {
    403: "Your roles do not let you open this page or do this. If your work needs it, ask an administrator.",
    404: "There is no such page or record here: the link may be mistyped or out of date.",
}
#: a form sent without its security token, or with an old one (the session ended, the page was open too long)
FORM_EXPIRED = (
    "This form has expired, or was opened before you signed in again. Go back, reload the page and send it again."
)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int] | tuple[Response, int, list[tuple[str, str]]]:
        code = exc.code or 500
        if _wants_json():
            body = {"code": code, "status": exc.name, "message": exc.description, "errors": {}}
            headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
            return jsonify(body), code, headers
        message = exc.description
        if isinstance(exc, CSRFError):
            message = FORM_EXPIRED
        elif message == type(exc).description:  # the default, not a reason the view gave
            message = IN_WORDS.get(code, message)
        return render_template("errors/error.html", error=exc, message=message), code
