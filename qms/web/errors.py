"""Error pages: people get a page, API clients get JSON."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response


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
        return render_template("errors/error.html", error=exc), code
