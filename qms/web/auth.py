"""Sign in (with a second factor when the person has one) and out; the limits of a session.

A session carries its user's security stamp (``User.get_id``): signing out, a password change
or reset, deactivation and role changes give the user a new stamp, so every session that
carries the old one, a replayed cookie included, is signed out. A session also ends after
``QMS_SESSION_IDLE_MINUTES`` without a request (default 30) and ``QMS_SESSION_MAX_HOURS``
after signing in (default 12), whatever happens.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ..database import db
from ..models import User
from ..security import LOGIN_LIMIT, limiter
from ..services.identity import (
    check_second_factor,
    end_sessions,
    mfa_required,
    note_sign_in_failure,
    sign_in_wait,
    wait_in_words,
)
from ..services.users import authenticate, complete_sign_in

bp = Blueprint("auth", __name__)

#: session keys: when it started, the last request, a sign-in waiting for its second factor
STARTED, SEEN, PENDING = "qms_started", "qms_seen", "qms_pending"
#: the session's browser and address, as a digest (see ``session_binding``)
BOUND = "qms_bound"
#: how long the second-factor step may take after the password
PENDING_SECONDS = 300
#: pages a person whose role requires a second factor may use before setting one up
MFA_SETUP_ENDPOINTS = frozenset(
    {"account.mfa", "account.mfa_start", "account.mfa_confirm", "auth.logout", "static", "auth.login"}
)


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


class SecondFactorForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code", validators=[DataRequired(), Length(max=32)]
    )
    submit = SubmitField("Continue")


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.index")


def session_binding() -> str:
    """A digest of the browser (User-Agent) and the address the request comes from.

    The address is ``request.remote_addr``, which the proxy settings (``QMS_PROXY_COUNT``) make the
    client's: flask-login's own "strong" identifier reads the first ``X-Forwarded-For`` entry, which
    the client writes, and it never ends a permanent session (every session here is one)."""
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha256(f"{request.remote_addr or ''}|{agent}".encode(errors="replace")).hexdigest()


def start_session(user: User) -> None:
    """A new session for ``user`` (nothing of the previous one is kept), with its clocks started."""
    session.clear()
    login_user(user)
    session.permanent = True
    now = int(time.time())
    session[STARTED] = now
    session[SEEN] = now
    session[BOUND] = session_binding()
    if not user.mfa_enabled and mfa_required(user):
        session["qms_mfa_setup"] = True
    complete_sign_in(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        wait = sign_in_wait(form.email.data)
        if wait:
            form.password.errors.append(
                f"Too many failed sign-ins for this account: try again in {wait_in_words(wait)}."
            )
            return render_template("auth/login.html", form=form), 429
        user = authenticate(form.email.data, form.password.data)
        if user is not None and user.mfa_enabled:
            session.clear()
            session[PENDING] = {"user": user.get_id(), "at": int(time.time()), "next": request.args.get("next")}
            return redirect(url_for("auth.second_factor"))
        if user is not None:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("E-mail or password is not correct.")
        status = 200
    return render_template("auth/login.html", form=form), status


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user_id, _, stamp = str(pending.get("user", "")).partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
    if user is None or not user.active or user.security_stamp != stamp or not user.mfa_enabled:
        return None
    return user


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def second_factor() -> str | Response | tuple[str, int]:
    """The second step of signing in for people with an authenticator app."""
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash("Sign in with your e-mail address and password first.")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        wait = sign_in_wait(user.email)
        if wait:
            form.code.errors.append(f"Too many failed attempts: try again in {wait_in_words(wait)}.")
            return render_template("auth/second_factor.html", form=form), 429
        if check_second_factor(user, form.code.data):
            target = _safe_next(session.get(PENDING, {}).get("next"))
            start_session(user)
            return redirect(target)
        note_sign_in_failure(user.email)
        form.code.errors.append("This code is not right (or was used already); try the next one.")
        return render_template("auth/second_factor.html", form=form), 422
    return render_template("auth/second_factor.html", form=form), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Sign out here and everywhere: the account's other sessions (and any copy of this cookie) end too."""
    user = current_user._get_current_object()
    end_sessions(user, user, "signed out")
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.before_app_request
def enforce_session_limits() -> Response | None:
    """End a session that was idle or lived too long; make people whose role requires it set up a second factor."""
    if request.path.startswith("/api/") or request.endpoint == "static" or "_user_id" not in session:
        return None
    now = int(time.time())
    idle = current_app.config.get("QMS_SESSION_IDLE_MINUTES", 30) * 60
    lifetime = current_app.config.get("QMS_SESSION_MAX_HOURS", 12) * 3600
    started, seen = session.get(STARTED), session.get(SEEN)
    # a session cookie copied to another browser or address ends there (see session_binding)
    elsewhere = session.get(BOUND) != session_binding()
    if (
        elsewhere
        or not isinstance(started, int)
        or not isinstance(seen, int)
        or now - seen > idle
        or now - started > lifetime
    ):
        logout_user()
        session.clear()
        if isinstance(seen, int) and now - seen > idle:
            flash(f"You were signed out after {idle // 60} minutes without activity; sign in again.")
        else:
            flash("Your session has ended; sign in again.")
        return None  # login_required sends the person to the sign-in page
    session[SEEN] = now
    if session.get("qms_mfa_setup") and request.endpoint not in MFA_SETUP_ENDPOINTS:
        user = current_user
        if user.is_authenticated and not user.mfa_enabled:
            flash("Your role requires an authenticator app: set it up to continue.")
            return redirect(url_for("account.mfa"))
        session.pop("qms_mfa_setup", None)
    return None
