"""User administration (admins only): create, change roles, deactivate, reset passwords; the security
settings (signing lock period, second factor per role), failed attempts, unlocking signing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from workflows.errors import InvalidData, NotPermitted

from ..database import db, utcnow
from ..models import DOCUMENT_TYPES, FAILURE_KINDS, ROLE_LABELS, AuthFailure, User
from ..services.documents import numbering_pattern, set_numbering
from ..services.identity import (
    locked_users,
    security_policy,
    set_security_policy,
    turn_off_totp,
    unlock_signing,
)
from ..services.users import create_user, reset_password, update_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


class RolesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewUserForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])  # checked by create_user
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=10, max=1024)])
    roles = RolesField("Roles", choices=list(ROLE_LABELS.items()), validators=[DataRequired()])


class EditUserForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    roles = RolesField("Roles", choices=list(ROLE_LABELS.items()), validators=[DataRequired()])
    active = BooleanField("Active (may sign in)")


class PolicyForm(FlaskForm):
    signing_lock_minutes = IntegerField(
        "Lock signing for (minutes) after five failed attempts",
        validators=[DataRequired(), NumberRange(1, 10080, "must be from 1 to 10080 minutes (a week)")],
    )
    mfa_roles = RolesField("Roles that must use an authenticator app", choices=list(ROLE_LABELS.items()))


class ResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=1024)])


@bp.before_request
@login_required
def admins_only() -> None:
    if not current_user.has_role("admin"):
        abort(403)


def _apply(form: FlaskForm, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(f"{name} {message}")


@bp.route("/users", methods=["GET", "POST"])
def users() -> Any:
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.name.data, form.password.data, set(form.roles.data), current_user)
        except InvalidData as exc:
            _apply(form, exc.errors)
        else:
            flash(f"Account created for {user.email}.")
            return redirect(url_for("admin.users"))
    people = db.session.scalars(select(User).order_by(User.name).options(selectinload(User.role_links))).all()
    return render_template("admin/users.html", users=people, form=form, labels=ROLE_LABELS), (
        422 if form.errors else 200
    )


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
def user(user_id: int) -> Any:
    person = db.session.get(User, user_id) or abort(404)
    # On POST only the submitted data counts (an empty POST must not fall back to the stored values).
    form = EditUserForm(obj=person) if request.method == "GET" else EditUserForm()
    if request.method == "GET":
        form.roles.data = sorted(person.roles)
        form.active.data = person.active
    reset = ResetForm(formdata=None)
    if form.validate_on_submit():
        try:
            update_user(person, current_user, name=form.name.data, roles=set(form.roles.data), active=form.active.data)
        except (InvalidData, NotPermitted) as exc:
            if isinstance(exc, InvalidData):
                _apply(form, exc.errors)
            else:
                flash(exc.message)
        else:
            if person.id == current_user.id:  # one's own role change: this session goes on, the others end
                login_user(person, fresh=False)
            flash(f"{person.email} updated.")
            return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/user.html", person=person, form=form, reset=reset, now=utcnow()), (
        422 if form.errors else 200
    )


@bp.route("/users/<id:user_id>/password", methods=["POST"])
def password(user_id: int) -> Any:
    person = db.session.get(User, user_id) or abort(404)
    reset = ResetForm()
    if reset.validate_on_submit():
        try:
            reset_password(person, current_user, reset.password.data)
        except InvalidData as exc:
            _apply(reset, exc.errors)
        else:
            flash(f"Password of {person.email} reset; tell them to change it after signing in.")
            return redirect(url_for("admin.user", user_id=person.id))
    form = EditUserForm(formdata=None, obj=person)
    form.roles.data = sorted(person.roles)
    return render_template("admin/user.html", person=person, form=form, reset=reset, now=utcnow()), 422


@bp.route("/numbering", methods=["GET", "POST"])
def numbering() -> Any:
    """The numbering scheme of each document type."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf
        from wtforms import ValidationError

        try:
            if current_app.config.get("WTF_CSRF_ENABLED", True):
                validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400, description="The form expired; reload the page and try again.")
        patterns = {doc_type: request.form.get(doc_type, "").strip() for doc_type in DOCUMENT_TYPES}
        try:
            set_numbering(current_user, patterns)
        except InvalidData as exc:
            errors = exc.errors
        else:
            flash("Numbering schemes saved.")
            return redirect(url_for("admin.numbering"))
    current = {doc_type: numbering_pattern(db.session(), doc_type) for doc_type in DOCUMENT_TYPES}
    if request.method == "POST":
        current.update({k: request.form.get(k, "") for k in DOCUMENT_TYPES})
    return render_template("admin/numbering.html", types=DOCUMENT_TYPES, current=current, errors=errors), (
        422 if errors else 200
    )


#: failed attempts shown on the security page
FAILURES_SHOWN = 200


@bp.route("/security", methods=["GET", "POST"])
def security() -> Any:
    """The security settings, the accounts whose signing is locked and the latest failed attempts."""
    policy = security_policy()
    form = PolicyForm() if request.method == "POST" else PolicyForm(formdata=None)
    if request.method == "GET":
        form.signing_lock_minutes.data = policy.signing_lock_minutes
        form.mfa_roles.data = list(policy.mfa_roles or ())
    if form.validate_on_submit():
        try:
            set_security_policy(
                current_user, signing_lock_minutes=form.signing_lock_minutes.data, mfa_roles=form.mfa_roles.data or []
            )
        except InvalidData as exc:
            _apply(form, exc.errors)
        else:
            flash("Security settings saved.")
            return redirect(url_for("admin.security"))
    kind = request.args.get("kind", "")
    user_id = request.args.get("user_id", "")
    stmt = select(AuthFailure).order_by(AuthFailure.id.desc())
    if kind in FAILURE_KINDS:
        stmt = stmt.where(AuthFailure.kind == kind)
    if user_id.isdigit() and len(user_id) < 10:
        stmt = stmt.where(AuthFailure.user_id == int(user_id))
    failures = db.session.scalars(stmt.limit(FAILURES_SHOWN)).all()
    return render_template(
        "admin/security.html",
        form=form,
        locked=locked_users(),
        failures=failures,
        kinds=FAILURE_KINDS,
        kind=kind,
        shown=FAILURES_SHOWN,
    ), (422 if form.errors else 200)


@bp.route("/users/<id:user_id>/unlock-signing", methods=["POST"])
def unlock_signing_of(user_id: int) -> Any:
    person = db.session.get(User, user_id) or abort(404)
    _check_csrf()
    unlock_signing(person, current_user)
    flash(f"Signing unlocked for {person.email}.")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/users/<id:user_id>/mfa/reset", methods=["POST"])
def reset_mfa(user_id: int) -> Any:
    person = db.session.get(User, user_id) or abort(404)
    _check_csrf()
    turn_off_totp(person, current_user)
    flash(f"Authenticator app of {person.email} turned off; they are signed out everywhere.")
    return redirect(url_for("admin.user", user_id=person.id))


def _check_csrf() -> None:
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    try:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400, description="The form expired; reload the page and try again.")
