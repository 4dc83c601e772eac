"""My account: change password, API tokens, the personal audit calendar feed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, fresh_login_required, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..models import ApiToken
from ..services.audits import new_calendar_feed, revoke_calendar_feed
from ..services.notifications import set_digest_preference, wants_digest
from ..services.tokens import create_token, revoke_token, tokens_of
from ..services.users import change_password

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    new = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=1024)])
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("new", "The two passwords differ.")])


class TokenForm(FlaskForm):
    name = StringField("What the token is for", validators=[DataRequired(), Length(max=100)])


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
    )


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
        else:
            flash("Your password is changed.")
            return redirect(url_for("account.profile"))
    return _render(password_form=form), 422


@bp.route("/tokens", methods=["POST"])
@fresh_login_required
def new_token() -> Any:
    form = TokenForm()
    if form.validate_on_submit():
        _token, plaintext = create_token(current_user, form.name.data)
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
    return _render(feed_url=request.host_url.rstrip("/") + url_for("audits.feed", secret=secret))


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
