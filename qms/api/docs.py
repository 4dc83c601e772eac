"""/api/docs: Swagger UI over /api/v1/openapi.json, served from the app itself (no CDN).

The page holds no inline script (the site's CSP is ``script-src 'self'``):
the initializer is a static script of its own, reading the document's URL
from a data attribute.  Swagger UI sets style attributes, so this page alone
allows inline styles (``API_DOCS_CSP``).
"""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response, abort, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from ..security import API_DOCS_CSP, talisman

bp = Blueprint("swagger_ui", __name__, url_prefix="/api/docs")

#: the Swagger UI files the page needs; nothing else of the bundle is served
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png"})

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qmsflow API</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" type="image/png" href="{icon}">
</head>
<body>
<div id="swagger-ui" data-spec-url="{spec}"></div>
<noscript><p>The interactive documentation needs JavaScript; the OpenAPI document is at
<a href="{spec}">{spec}</a>.</p></noscript>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""

INITIALIZER = """"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.specUrl,
    domNode: node,
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""


@bp.route("", methods=["GET"])
@talisman(content_security_policy=API_DOCS_CSP)
def swagger_ui() -> Response:
    """The interactive API documentation."""
    page = PAGE.format(
        css=escape(url_for("swagger_ui.asset", filename="swagger-ui.css")),
        icon=escape(url_for("swagger_ui.asset", filename="favicon-32x32.png")),
        spec=escape(url_for("api-docs.openapi_json")),
        bundle=escape(url_for("swagger_ui.asset", filename="swagger-ui-bundle.js")),
        init=escape(url_for("swagger_ui.initializer")),
    )
    return Response(page, mimetype="text/html")


@bp.route("/swagger-initializer.js", methods=["GET"])
def initializer() -> Response:
    """The script that starts Swagger UI on the page."""
    return Response(INITIALIZER, mimetype="text/javascript")


@bp.route("/assets/<filename>", methods=["GET"])
def asset(filename: str) -> Response:
    """Swagger UI's own files, from the swagger-ui-bundle package."""
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
