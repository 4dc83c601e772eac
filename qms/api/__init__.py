"""The JSON REST API under /api/v1 (flask-smorest, marshmallow 4).

- OpenAPI 3 document at ``/api/v1/openapi.json``; Swagger UI at ``/api/docs``.
- Every resource route needs ``Authorization: Bearer <token>`` (``auth.py``);
  the document and the docs page are public.
- Views are thin: parse and validate (``schemas/``), call one service,
  present the result; authorisation is the services' (NotPermitted → 403).
- Errors are JSON ``{"code", "status", "message", "errors"}`` (``errors.py``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from .blueprint import API_PREFIX, ApiBlueprint
from .schemas.common import ErrorSchema

SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token: `qms create-token EMAIL` or your profile page (never another token).",
}
DESCRIPTION = (
    "The qmsflow quality-management system. Workflow resources carry `state`, `version` and the "
    "`available_events` you may fire (with the reason for each blocked one); fire one with "
    "`POST …/{id}/events/{event}`. Errors are `{code, status, message, errors}`; `errors` names each bad field."
)


class QmsApi(Api):
    """flask-smorest's Api, with JSON errors answered per API blueprint.

    flask-smorest would register one JSON handler for every HTTP error of the
    whole app; the site's HTML error pages must stay, so the API's blueprints
    answer their own errors instead (see ``errors.register_error_handlers``).
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Leave the app's error handlers alone (each API blueprint has its own)."""

    def register_blueprint(self, blp: ApiBlueprint, *, parameters: Any = None, **options: Any) -> None:
        """Register ``blp`` and document it under its readable tag."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)
        self.spec.tag({"name": blp.tag, "description": blp.description})


def init_api(app: Flask) -> QmsApi:
    """Register the API blueprints, the OpenAPI document and the docs page on ``app``."""
    from . import (
        attachments,
        audits,
        certifications,
        competence,
        complaints,
        docs,
        documents,
        implementation,
        mfa,
        nonconformities,
        reviews,
        security,
        standards,
        surveys,
        tokens,
        training,
        users,
    )
    from . import audit_trail as audit_trail_api
    from . import equipment as equipment_api
    from . import suppliers as suppliers_api

    app.config.setdefault("API_TITLE", "qmsflow")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {"security": [{"bearerAuth": []}], "info": {"description": DESCRIPTION}})
    api = QmsApi(app)
    api.spec.components.security_scheme("bearerAuth", SECURITY_SCHEME)
    # the order of the OpenAPI document's tags: nonconformities, then their corrective actions
    for blueprint in (nonconformities.blp, nonconformities.actions_blp, attachments.blp, documents.blp, users.blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(tokens.blp)
    api.register_blueprint(mfa.blp)
    api.register_blueprint(audits.programmes_blp)
    api.register_blueprint(audits.blp)
    api.register_blueprint(standards.blp)
    api.register_blueprint(surveys.blp)
    api.register_blueprint(complaints.blp)
    api.register_blueprint(certifications.bodies_blp)
    api.register_blueprint(certifications.blp)
    api.register_blueprint(reviews.blp)
    api.register_blueprint(implementation.blp)
    api.register_blueprint(competence.blp)
    api.register_blueprint(training.blp)
    api.register_blueprint(security.blp)
    api.register_blueprint(audit_trail_api.blp)
    from . import context, risks

    api.register_blueprint(risks.blp)
    api.register_blueprint(risks.actions_blp)
    api.register_blueprint(context.blp)
    from . import changes, objectives, opportunities

    for blueprint in (
        objectives.blp,
        opportunities.blp,
        changes.blp,
        suppliers_api.blp,
        suppliers_api.scars_blp,
        equipment_api.blp,
        equipment_api.assessments_blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    app.extensions["qms_api"] = api
    return api
