"""My account: change password, second factor (authenticator app), API tokens, the personal audit calendar feed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, fresh_login_required, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange

from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..models import ApiToken
from ..services.audits import new_calendar_feed, revoke_calendar_feed
from ..services.identity import (
    begin_totp,
    check_password_again,
    confirm_totp,
    mfa_required,
    qr_svg,
    recovery_codes_left,
    totp_uri,
    turn_off_totp,
)
from ..services.notifications import public_url, set_digest_preference, wants_digest
from ..services.tokens import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    SCOPES,
    create_token_in_session,
    revoke_token,
    tokens_of,
)
from ..services.users import change_password

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    new = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=1024)])
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("new", "The two passwords differ.")])


class TokenForm(FlaskForm):
    name = StringField("What the token is for", validators=[DataRequired(), Length(max=100)])
    scope = SelectField("Scope", choices=list(SCOPES.items()), default="read-write")
    days = IntegerField(
        "Expires after (days)",
        default=DEFAULT_TOKEN_DAYS,
        validators=[DataRequired(), NumberRange(1, MAX_TOKEN_DAYS, f"must be from 1 to {MAX_TOKEN_DAYS} days")],
    )
    password = PasswordField("Your password (to confirm it is you)", validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[DataRequired(), Length(max=10)])


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=1024)])


def _render(
    password_form: PasswordForm | None = None,
    token_form: TokenForm | None = None,
    new_token: str = "",
    feed_url: str = "",
):
    return render_template(
        "account/profile.html",
        password_form=password_form or PasswordForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        tokens=tokens_of(current_user),
        new_token=new_token,
        feed_url=feed_url,
        has_feed=current_user.calendar_feed_hash is not None,
        daily_digest=wants_digest(current_user),
        recovery_left=recovery_codes_left(current_user) if current_user.mfa_enabled else 0,
        off_form=ConfirmPasswordForm(formdata=None, prefix="off"),
    )


def _keep_this_session() -> None:
    """After the user's own change gave them a new stamp: this session goes on, every other one ended."""
    login_user(current_user._get_current_object(), fresh=True)


@bp.route("/")
@login_required
def profile() -> str:
    return _render()


@bp.route("/password", methods=["POST"])
@fresh_login_required
def password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except InvalidData as exc:
            for name, message in exc.errors.items():
                getattr(form, {"password": "new"}.get(name, name)).errors.append(message)
        except NotPermitted as exc:
            form.current.errors.append(exc.message)
        else:
            _keep_this_session()
            flash("Your password is changed. Your other sessions are signed out and your API tokens revoked.")
            return redirect(url_for("account.profile"))
    return _render(password_form=form), 422


@bp.route("/tokens", methods=["POST"])
@fresh_login_required
def new_token() -> Any:
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _token, plaintext = create_token_in_session(
                current_user, form.name.data, form.password.data, scope=form.scope.data, days=form.days.data
            )
        except InvalidData as exc:
            for name, message in exc.errors.items():
                getattr(form, name, form.name).errors.append(message)
        except NotPermitted as exc:
            form.password.errors.append(exc.message)
        else:
            return _render(new_token=plaintext)
    return _render(token_form=form), 422


@bp.route("/tokens/<id:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int) -> Any:
    token = db.session.get(ApiToken, token_id) or abort(404)
    try:
        revoke_token(token, current_user)
    except NotPermitted:
        abort(403)
    flash(f"Token '{token.name}' revoked.")
    return redirect(url_for("account.profile"))


@bp.route("/calendar-feed", methods=["POST"])
@fresh_login_required
def calendar_feed() -> Any:
    """A new secret address of the user's audit calendar (the old one stops working); shown once."""
    secret = new_calendar_feed(current_user, current_user)
    return _render(feed_url=public_url("audits.feed", secret=secret))


@bp.route("/calendar-feed/revoke", methods=["POST"])
@login_required
def revoke_calendar() -> Any:
    revoke_calendar_feed(current_user, current_user)
    flash("Your calendar feed address is revoked; calendar apps using it get nothing more.")
    return redirect(url_for("account.profile") + "#feed")


@bp.route("/email", methods=["POST"])
@login_required
def email_preferences() -> Any:
    """The user's own e-mail choices (an unticked box is absent from the form: no digest)."""
    value = request.form.get("daily_digest", "")
    if value not in ("", "1"):
        flash("Daily digest: tick the box or leave it empty.")
        return _render(), 422
    set_digest_preference(current_user, value == "1")
    flash("Daily digest " + ("on." if value else "off: you will get no digest e-mails."))
    return redirect(url_for("account.profile") + "#email")


# --- second factor (authenticator app) ----------------------------------------------------------


def _render_mfa(code_form: CodeForm | None = None, recovery: list[str] | None = None, status: int = 200) -> Any:
    user = current_user
    setting_up = user.totp_secret is not None and not user.mfa_enabled
    return (
        render_template(
            "account/mfa.html",
            setting_up=setting_up,
            qr=qr_svg(totp_uri(user)) if setting_up else "",
            secret=user.totp_secret if setting_up else "",
            code_form=code_form or CodeForm(formdata=None),
            recovery=recovery or [],
            required=mfa_required(user),
        ),
        status,
    )


@bp.route("/mfa")
@login_required
def mfa() -> Any:
    """The second factor: its state, and setting it up."""
    return _render_mfa()


@bp.route("/mfa/start", methods=["POST"])
@fresh_login_required
def mfa_start() -> Any:
    """A new secret to scan; the app is on once its first code is confirmed."""
    try:
        begin_totp(current_user)
    except InvalidData as exc:
        flash(exc.errors.get("code", exc.message))
        return redirect(url_for("account.mfa"))
    return _render_mfa()


@bp.route("/mfa/confirm", methods=["POST"])
@fresh_login_required
def mfa_confirm() -> Any:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = confirm_totp(current_user, form.code.data)
        except InvalidData as exc:
            form.code.errors.append(exc.errors.get("code", exc.message))
        else:
            session.pop("qms_mfa_setup", None)
            flash("Your authenticator app is on: signing in now asks for its code.")
            return _render_mfa(recovery=codes)
    return _render_mfa(code_form=form, status=422)


@bp.route("/mfa/off", methods=["POST"])
@fresh_login_required
def mfa_off() -> Any:
    """Turn the second factor off, after re-entering the password (not while a role requires it)."""
    form = ConfirmPasswordForm(prefix="off")
    if mfa_required(current_user):
        flash("Your role requires an authenticator app; an administrator can reset it if you lost it.")
        return redirect(url_for("account.profile") + "#mfa"), 303
    if form.validate_on_submit():
        try:
            check_password_again(current_user, form.password.data, "reauthentication")
        except (InvalidData, NotPermitted) as exc:
            message = exc.errors.get("password", exc.message) if isinstance(exc, InvalidData) else exc.message
            flash(f"Authenticator app not turned off: password {message}" if isinstance(exc, InvalidData) else message)
            return redirect(url_for("account.profile") + "#mfa"), 303
        turn_off_totp(current_user, current_user)
        _keep_this_session()
        flash("Your authenticator app is off; your other sessions are signed out.")
    return redirect(url_for("account.profile") + "#mfa")
