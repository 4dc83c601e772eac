"""qmsflow: the Flask application over the workflow engine.

``create_app`` assembles the app: configuration, extensions, blueprints,
error handlers and CLI commands.  ``flask --app qms run`` works too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from . import lifecycles  # noqa: F401  (registers the roles and lifecycles with workflows, for every qms module)

__version__ = "0.1.0"


def _templates_folder() -> str:
    """templates/ ships inside the package (wheel) or sits beside it (source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "base.html").exists():
            return str(candidate)
    raise RuntimeError("qmsflow templates not found; reinstall the package")


def _instance_path() -> str | None:
    """QMS_INSTANCE_PATH, else ./instance beside a source checkout, else Flask's default."""
    configured = os.environ.get("QMS_INSTANCE_PATH")
    if configured:
        return str(Path(configured).resolve())
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "setup.cfg").exists():
        return str(checkout / "instance")
    return None


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=_instance_path(),
        instance_relative_config=True,
        template_folder=_templates_folder(),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    from .config import from_environment

    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind QMS_PROXY_COUNT reverse proxies, take the client address, scheme and host from their
    X-Forwarded-* headers (else the sign-in rate limit would count every user as the proxy)."""
    count = app.config.get("QMS_PROXY_COUNT", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    from . import (
        models,
        services,  # noqa: F401  (registers effects and guard facts)
    )
    from .extensions import csrf, db, login_manager, mail, migrate
    from .jobs import celery_init_app

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    celery_init_app(app)
    from .security import init_security

    init_security(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> models.User | None:
        # "<id>:<security stamp>": a session whose stamp is no longer the user's has ended
        import hmac

        from .services.users import signed_in

        number, _, stamp = user_id.partition(":")
        user = signed_in(int(number)) if number.isdigit() and len(number) < 10 else None
        return user if user is not None and user.active and hmac.compare_digest(stamp, user.security_stamp) else None


def register_template_helpers(app: Flask) -> None:
    """Stored values in words (``|label``) and an event's recorded data as labelled lines, for every page."""
    from .labels import event_details, figure_label, label, words

    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["figure_label"] = figure_label
    app.jinja_env.filters["words"] = words
    app.jinja_env.globals["event_details"] = event_details


def register_blueprints(app: Flask) -> None:
    from .jobs import views as jobs_views
    from .web import (
        account,
        admin,
        audits,
        auth,
        certifications,
        competence,
        complaints,
        documents,
        implementation,
        main,
        nonconformities,
        reviews,
        standards,
        surveys,
        training,
    )
    from .web import context as context_web
    from .web import equipment as equipment_pages
    from .web import inspections as inspection_pages
    from .web import risks as risks_web
    from .web import suppliers as supplier_pages

    for module in (
        auth,
        main,
        nonconformities,
        documents,
        account,
        admin,
        audits,
        surveys,
        complaints,
        certifications,
        reviews,
        standards,
        implementation,
        jobs_views,
        competence,
        training,
        risks_web,
        context_web,
        supplier_pages,
        equipment_pages,
        inspection_pages,
    ):
        app.register_blueprint(module.bp)
    from .web import changes, objectives, opportunities

    for module in (objectives, opportunities, changes):
        app.register_blueprint(module.bp)
    from .api import init_api

    init_api(app)


def register_errorhandlers(app: Flask) -> None:
    from .web.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
