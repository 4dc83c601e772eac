"""Suppliers (ISO 9001 8.4): the register, a supplier's page with its lifecycle, evaluations, score
trend, deliveries (one by one or from CSV), certificates and nonconformities; the approved supplier
list (page, PDF, spreadsheet); supplier corrective action requests and the supplier's public
answer page ``/scar/<token>``.

``/scar/<token>`` is, like the public survey page, an unauthenticated write path: the token is
unguessable and single-use, the body is size capped, only the form's fields are accepted, posts are
rate limited, and the form carries a CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted, WorkflowError

from ..database import db
from ..downloads import content_disposition
from ..errors import message_of
from ..models import (
    APPROVED_STATES,
    CRITERIA,
    CRITICALITY_LABELS,
    DEFAULT_WEIGHTS,
    NC_SOURCES,
    Attachment,
    Nonconformity,
    Scar,
    Supplier,
)
from ..security import limiter
from ..services import available_events, history_of
from ..services.attachments import attach
from ..services.filters import contains
from ..services.inspections import RECORD_ROLES as INSPECTION_ROLES
from ..services.inspections import inspections_of_supplier
from ..services.nonconformities import RAISE_ROLES
from ..services.notifications import public_url
from ..services.suppliers import (
    ANSWER_FIELDS,
    ANSWER_LIMIT,
    DELIVERY_ROLES,
    EVALUATE_ROLES,
    MANAGE_ROLES,
    OWNER_ROLES,
    SCAR_ROLES,
    approved_list_xlsx,
    approved_query,
    create_supplier,
    current_weights,
    deliveries_of,
    describe_weights,
    dismiss_proposal,
    email_scar_link,
    evaluations_of,
    import_deliveries,
    issue_scar_link,
    raise_scar,
    raise_supplier_nc,
    record_delivery,
    record_evaluation,
    scar_counts,
    scar_for_token,
    scars_of,
    set_criteria_weights,
    submit_scar_answer,
    update_supplier,
    weight_changes,
    weights_history,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, user_choices
from .paging import register_page
from .surveys import PUBLIC_LIMIT, limited_form, public_message, too_large

bp = Blueprint("suppliers", __name__)
#: the approved list is read by purchasing: longer pages, and the PDF or spreadsheet holds it all
APPROVED_PER_PAGE = 100
PROPOSAL_EVENTS = {"conditionally_approved": "approve_conditionally", "suspended": "suspend"}


def _has(roles: frozenset[str]) -> bool:
    return current_user.is_authenticated and current_user.has_role(*roles)


def _supplier_or_404(supplier_id: int) -> Supplier:
    return db.session.get(Supplier, supplier_id) or abort(404)


def _scar_or_404(scar_id: int) -> Scar:
    return db.session.get(Scar, scar_id) or abort(404)


# --------------------------------------------------------------------------- the register


@bp.route("/suppliers")
@login_required
def register() -> str:
    lifecycle = get_lifecycle("supplier")
    today = dt.date.today()
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} or state == "listed" else ""
    criticality = request.args.get("criticality", "")
    criticality = criticality if criticality in CRITICALITY_LABELS else ""
    q = request.args.get("q", "")[:100].strip()
    due = request.args.get("due") == "1"
    proposed = request.args.get("proposed") == "1"
    query = select(Supplier).options(selectinload(Supplier.owner))
    if state == "listed":
        query = query.where(Supplier.state.in_(APPROVED_STATES))
    elif state:
        query = query.where(Supplier.state == state)
    if criticality:
        query = query.where(Supplier.criticality == criticality)
    if q:
        query = query.where(or_(contains(Supplier.name, q), contains(Supplier.supplies, q), Supplier.reference == q))
    if due:
        query = query.where(
            Supplier.state != "disqualified", Supplier.next_evaluation_due <= today + dt.timedelta(days=30)
        )
    if proposed:
        query = query.where(Supplier.proposed_state.is_not(None))
    query = query.order_by(Supplier.name, Supplier.id)
    pagination = register_page(query)
    args = {
        k: v
        for k, v in {
            "state": state,
            "criticality": criticality,
            "q": q,
            "due": "1" if due else "",
            "proposed": "1" if proposed else "",
        }.items()
        if v
    }
    return render_template(
        "suppliers/list.html",
        pagination=pagination,
        open_scars=scar_counts([s.id for s in pagination.items]),
        args=args,
        lifecycle=lifecycle,
        criticalities=CRITICALITY_LABELS,
        today=today,
        can_manage=_has(MANAGE_ROLES),
    )


class SupplierForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    supplies = TextAreaField(
        "What they supply",
        validators=[DataRequired(), Length(max=5000)],
        description="Products, materials or services.",
    )
    criticality = SelectField(
        "Criticality",
        choices=list(CRITICALITY_LABELS.items()),
        description="Its effect on what we deliver; it sets how often it is re-evaluated (high: 6 months, "
        "medium: 12, low: 24).",
    )
    contact_name = StringField("Contact person", validators=[Optional(), Length(max=200)])
    contact_email = StringField("Contact e-mail", validators=[Optional(), Length(max=254)])
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=60)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=2000)])
    iso9001_certificate = StringField("ISO 9001 certificate number", validators=[Optional(), Length(max=120)])
    iso9001_expires_on = DateField("ISO 9001 certificate expires on", validators=[Optional()])
    owner_id = SelectField("Owner", coerce=int, validators=[Optional()], default=0)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=10_000)])


FORM_FIELDS = (
    "name",
    "supplies",
    "criticality",
    "contact_name",
    "contact_email",
    "contact_phone",
    "address",
    "iso9001_certificate",
    "iso9001_expires_on",
    "owner_id",
    "notes",
)


def _form_values(form: SupplierForm) -> dict[str, Any]:
    values = {name: getattr(form, name).data for name in FORM_FIELDS}
    values["owner_id"] = values["owner_id"] or None
    for name in FORM_FIELDS:
        if values[name] is None and name not in ("iso9001_expires_on", "owner_id"):
            values[name] = ""
    return values


@bp.route("/suppliers/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not _has(MANAGE_ROLES):
        abort(403)
    form = SupplierForm()
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Me")
    if form.validate_on_submit():
        try:
            supplier = create_supplier(current_user, **_form_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{supplier.reference} {supplier.name} added as a prospective supplier.")
            return redirect(url_for("suppliers.detail", supplier_id=supplier.id))
    return render_template("suppliers/form.html", form=form, supplier=None), (422 if form.errors else 200)


@bp.route("/suppliers/<id:supplier_id>/edit", methods=["GET", "POST"])
@login_required
def edit(supplier_id: int) -> Any:
    supplier = _supplier_or_404(supplier_id)
    if not _has(MANAGE_ROLES):
        abort(403)
    form = SupplierForm(obj=supplier if request.method == "GET" else None)
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Nobody")
    if request.method == "GET":
        form.owner_id.data = supplier.owner_id or 0
    if form.validate_on_submit():
        try:
            update_supplier(supplier, current_user, **_form_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except InvalidTransition as exc:
            flash(message_of(exc))
        else:
            flash(f"{supplier.reference} saved.")
            return redirect(url_for("suppliers.detail", supplier_id=supplier.id))
    return render_template("suppliers/form.html", form=form, supplier=supplier), (422 if form.errors else 200)


# --------------------------------------------------------------------------- the supplier page


class EvaluationForm(FlaskForm):
    period_start = DateField("Period from", validators=[DataRequired()])
    period_end = DateField("Period to", validators=[DataRequired()])
    price = DecimalField("Price (0–100)", validators=[DataRequired(), NumberRange(0, 100)])
    service = DecimalField("Service (0–100)", validators=[DataRequired(), NumberRange(0, 100)])
    delivery = DecimalField(
        "On-time delivery % (only if no delivery of the period is recorded)",
        validators=[Optional(), NumberRange(0, 100)],
    )
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=5000)])


class DeliveryForm(FlaskForm):
    order_reference = StringField("Order reference", validators=[DataRequired(), Length(max=60)])
    due_on = DateField("Promised for", validators=[DataRequired()])
    delivered_on = DateField("Delivered on", validators=[DataRequired()])


class SupplierNcForm(FlaskForm):
    title = StringField("What is wrong", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description and evidence", validators=[DataRequired(), Length(max=10_000)])
    detected_on = DateField("Detected on", validators=[Optional()])
    process_name = StringField("Process (e.g. Goods receipt)", validators=[Optional(), Length(max=120)])


def _render_detail(supplier: Supplier, failed: EventFormState | None = None, status: int = 200, **forms: Any) -> Any:
    today = dt.date.today()
    evaluations = evaluations_of(supplier)
    evaluation_form = forms.get("evaluation_form") or EvaluationForm(
        formdata=None,
        period_start=(supplier.last_evaluated_on or today - dt.timedelta(days=365)),
        period_end=today,
    )
    ncs = list(
        db.session.scalars(
            select(Nonconformity)
            .where(Nonconformity.supplier_id == supplier.id)
            .order_by(Nonconformity.detected_on.desc(), Nonconformity.id.desc())
            .limit(50)
        )
    )
    certificates = list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.lifecycle == "supplier", Attachment.record_id == supplier.id)
            .order_by(Attachment.id.desc())
        )
    )
    page = render_template(
        "suppliers/detail.html",
        supplier=supplier,
        events=available_events(supplier, current_user),
        failed=failed,
        history=(history := history_of(supplier)),
        diagram=lifecycle_diagram(supplier, history),
        evaluations=evaluations,
        weight_changes=weight_changes(evaluations),
        current_weights=describe_weights(current_weights()),
        inspections=inspections_of_supplier(supplier, limit=20),
        can_inspect=_has(INSPECTION_ROLES),
        criteria=CRITERIA,
        deliveries=deliveries_of(supplier),
        ncs=ncs,
        scars=scars_of(supplier),
        certificates=certificates,
        evaluation_form=evaluation_form,
        delivery_form=forms.get("delivery_form") or DeliveryForm(formdata=None),
        nc_form=forms.get("nc_form") or SupplierNcForm(formdata=None, detected_on=today),
        import_error=forms.get("import_error", ""),
        proposal_event=PROPOSAL_EVENTS.get(supplier.proposed_state or ""),
        today=today,
        can_manage=_has(MANAGE_ROLES),
        can_evaluate=_has(EVALUATE_ROLES),
        can_deliver=_has(DELIVERY_ROLES),
        can_raise=_has(RAISE_ROLES),
    )
    return page, status


add_record_routes(
    bp,
    "/suppliers/<id:supplier_id>",
    load=lambda supplier_id: _supplier_or_404(supplier_id),
    render=_render_detail,
    url=lambda supplier: url_for("suppliers.detail", supplier_id=supplier.id),
)


@bp.route("/suppliers/<id:supplier_id>/evaluations", methods=["POST"])
@login_required
def evaluate(supplier_id: int) -> Any:
    supplier = _supplier_or_404(supplier_id)
    if not _has(EVALUATE_ROLES):
        abort(403)
    form = EvaluationForm()
    if form.validate_on_submit():
        try:
            evaluation = record_evaluation(
                supplier,
                current_user,
                period_start=form.period_start.data,
                period_end=form.period_end.data,
                price=form.price.data,
                service=form.service.data,
                delivery=form.delivery.data,
                comment=form.comment.data or "",
            )
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except InvalidTransition as exc:
            flash(message_of(exc))
            return redirect(url_for("suppliers.detail", supplier_id=supplier.id))
        else:
            flash(f"Evaluation recorded: score {evaluation.total:g}.")
            return redirect(url_for("suppliers.detail", supplier_id=supplier.id) + "#evaluations")
    return _render_detail(supplier, None, 422, evaluation_form=form)


@bp.route("/suppliers/<id:supplier_id>/deliveries", methods=["POST"])
@login_required
def add_delivery(supplier_id: int) -> Any:
    supplier = _supplier_or_404(supplier_id)
    if not _has(DELIVERY_ROLES):
        abort(403)
    form = DeliveryForm()
    if form.validate_on_submit():
        try:
            record_delivery(
                supplier,
                current_user,
                order_reference=form.order_reference.data,
                due_on=form.due_on.data,
                delivered_on=form.delivered_on.data,
            )
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"Delivery {form.order_reference.data} recorded.")
            return redirect(url_for("suppliers.detail", supplier_id=supplier.id) + "#deliveries")
    return _render_detail(supplier, None, 422, delivery_form=form)


@bp.route("/suppliers/<id:supplier_id>/deliveries/import", methods=["POST"])
@login_required
def import_csv(supplier_id: int) -> Any:
    supplier = _supplier_or_404(supplier_id)
    if not _has(DELIVERY_ROLES):
        abort(403)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _render_detail(supplier, None, 422, import_error="Choose a CSV file to import.")
    try:
        count = import_deliveries(supplier, current_user, file.stream.read(1024 * 1024 + 1))
    except InvalidData as exc:
        return _render_detail(supplier, None, 422, import_error="The file " + exc.errors.get("file", "was refused"))
    flash(f"{count} deliveries imported.")
    return redirect(url_for("suppliers.detail", supplier_id=supplier.id) + "#deliveries")


@bp.route("/suppliers/<id:supplier_id>/certificates", methods=["POST"])
@login_required
def upload_certificate(supplier_id: int) -> Response:
    supplier = _supplier_or_404(supplier_id)
    if not _has(MANAGE_ROLES):
        abort(403)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("Choose a file to upload.")
        return redirect(url_for("suppliers.detail", supplier_id=supplier.id) + "#certificates")
    try:
        attachment = attach(supplier, current_user, file.stream, file.filename)
    except InvalidData as exc:
        flash("The file " + exc.errors.get("file", "was refused") + ".")
    except NotPermitted:
        abort(403)
    else:
        flash(f"{attachment.filename} uploaded.")
    return redirect(url_for("suppliers.detail", supplier_id=supplier.id) + "#certificates")


@bp.route("/suppliers/<id:supplier_id>/nonconformities", methods=["POST"])
@login_required
def raise_nc(supplier_id: int) -> Any:
    supplier = _supplier_or_404(supplier_id)
    if not _has(RAISE_ROLES):
        abort(403)
    form = SupplierNcForm()
    if form.validate_on_submit():
        try:
            nc = raise_supplier_nc(
                supplier,
                current_user,
                title=form.title.data,
                description=form.description.data,
                detected_on=form.detected_on.data,
                process=form.process_name.data or "",
                clause_refs=["8.4"],
            )
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except NotPermitted:
            abort(403)
        else:
            flash(f"{nc.reference} raised against {supplier.name}.")
            return redirect(url_for("nonconformities.detail", nc_id=nc.id))
    return _render_detail(supplier, None, 422, nc_form=form)


@bp.route("/suppliers/<id:supplier_id>/proposal/dismiss", methods=["POST"])
@login_required
def dismiss(supplier_id: int) -> Any:
    supplier = _supplier_or_404(supplier_id)
    if not _has(EVALUATE_ROLES):
        abort(403)
    try:
        dismiss_proposal(supplier, current_user, request.form.get("reason", "")[:2000])
    except InvalidData:
        flash("Give the reason for keeping the supplier's status.")
        return _render_detail(supplier, None, 422)
    except InvalidTransition as exc:
        flash(message_of(exc))
    else:
        flash("Proposal dismissed; the supplier keeps its status.")
    return redirect(url_for("suppliers.detail", supplier_id=supplier.id))


# --------------------------------------------------------------------------- the approved supplier list


@bp.route("/suppliers/weights", methods=["GET", "POST"])
@login_required
def weights() -> Any:
    """The evaluation criteria's weights: everyone sees them and their history; an administrator sets them."""
    is_admin = current_user.has_role("admin")
    errors: dict[str, str] = {}
    values: Any = current_weights()
    if request.method == "POST":
        if not is_admin:
            abort(403)
        values = {name: request.form.get(name, "") for name in CRITERIA}
        try:
            chosen = set_criteria_weights(
                current_user,
                weights=values,
                normalise=request.form.get("normalise") == "1",
                reason=request.form.get("reason", ""),
            )
        except InvalidData as exc:
            errors = {name.removeprefix("weights."): message for name, message in exc.errors.items()}
        else:
            flash(f"Evaluation weights set: {describe_weights(chosen)}. Evaluations from now on use them.")
            return redirect(url_for("suppliers.weights"))
    page = render_template(
        "suppliers/weights.html",
        criteria=CRITERIA,
        values=values,
        errors=errors,
        reason=request.form.get("reason", "") if request.method == "POST" else "",
        history=weights_history(),
        default=describe_weights(DEFAULT_WEIGHTS),
        describe=describe_weights,
        can_set=is_admin,
    )
    return page, (422 if errors else 200)


@bp.route("/suppliers/approved")
@login_required
def approved() -> str:
    today = dt.date.today()
    q = request.args.get("q", "")[:100].strip()
    pagination = register_page(approved_query(q), per_page=APPROVED_PER_PAGE)
    return render_template("suppliers/approved.html", pagination=pagination, args={"q": q} if q else {}, today=today)


@bp.route("/suppliers/approved.pdf")
@login_required
def approved_pdf() -> Response:
    from ..reports.suppliers import approved_list_pdf

    today = dt.date.today()
    return Response(
        approved_list_pdf(today, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"approved-suppliers-{today}.pdf", inline=True)},
    )


@bp.route("/suppliers/approved.xlsx")
@login_required
def approved_xlsx() -> Response:
    today = dt.date.today()
    return Response(
        approved_list_xlsx(today, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": content_disposition(f"approved-suppliers-{today}.xlsx")},
    )


# --------------------------------------------------------------------------- SCARs


@bp.route("/scars")
@login_required
def scars() -> str:
    lifecycle = get_lifecycle("scar")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} or state == "open" else ""
    query = select(Scar).options(selectinload(Scar.supplier), selectinload(Scar.nonconformity))
    if state == "open":
        query = query.where(Scar.state.in_(Scar.OPEN_STATES))
    elif state:
        query = query.where(Scar.state == state)
    query = query.order_by(Scar.id.desc())
    pagination = register_page(query)
    return render_template(
        "suppliers/scars.html",
        pagination=pagination,
        args={"state": state} if state else {},
        lifecycle=lifecycle,
        today=dt.date.today(),
    )


def _render_scar(scar: Scar, failed: EventFormState | None = None, status: int = 200, link: str = "") -> Any:
    page = render_template(
        "suppliers/scar.html",
        scar=scar,
        events=available_events(scar, current_user),
        failed=failed,
        history=(history := history_of(scar)),
        diagram=lifecycle_diagram(scar, history),
        link=link,
        today=dt.date.today(),
        can_send=_has(SCAR_ROLES),
    )
    response = current_app.make_response((page, status))
    if link:
        response.headers["Cache-Control"] = "no-store"
    return response


add_record_routes(
    bp,
    "/scars/<id:scar_id>",
    load=lambda scar_id: _scar_or_404(scar_id),
    render=_render_scar,
    url=lambda scar: url_for("suppliers.scar_detail", scar_id=scar.id),
    detail="scar_detail",
    fire_event="fire_scar_event",
)


@bp.route("/scars/<id:scar_id>/report.pdf")
@login_required
def scar_pdf(scar_id: int) -> Response:
    from ..reports.suppliers import scar_report_pdf

    scar = _scar_or_404(scar_id)
    return Response(
        scar_report_pdf(scar, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{scar.reference}.pdf", inline=True)},
    )


def _public_link(token: str) -> str:
    return public_url("suppliers.answer", token=token)


@bp.route("/nonconformities/<id:nc_id>/scar", methods=["POST"])
@login_required
def request_scar(nc_id: int) -> Any:
    nc = db.session.get(Nonconformity, nc_id) or abort(404)
    if not _has(SCAR_ROLES):
        abort(403)
    try:
        scar, token = raise_scar(
            nc,
            current_user,
            request=request.form.get("request", "")[:10_001],
            respond_by=request.form.get("respond_by"),
        )
    except InvalidData as exc:
        flash("The request " + "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in exc.errors.items()) + ".")
        return redirect(url_for("nonconformities.detail", nc_id=nc.id) + "#scar"), 303
    link = _public_link(token)
    flash(f"{scar.reference} raised. Send the supplier the link below: it is shown only this once.")
    _email_if_asked(scar, link)
    return _render_scar(scar, link=link)


EMAIL_OUTCOMES = {
    "sent": "The link was e-mailed to {email}.",
    "logged": "No mail server is configured: the link was not e-mailed; copy it below.",
    "failed": "The e-mail to {email} could not be sent; copy the link below.",
}


def _email_if_asked(scar: Scar, link: str) -> None:
    if request.form.get("email") != "1":
        return
    try:
        outcome = email_scar_link(scar, link)
    except InvalidData:
        flash("The supplier has no contact e-mail address: copy the link below.")
    else:
        flash(EMAIL_OUTCOMES[outcome].format(email=scar.supplier.contact_email))


@bp.route("/scars/<id:scar_id>/link", methods=["POST"])
@login_required
def new_link(scar_id: int) -> Any:
    scar = _scar_or_404(scar_id)
    if not _has(SCAR_ROLES):
        abort(403)
    try:
        token = issue_scar_link(scar, current_user)
    except InvalidTransition as exc:
        flash(message_of(exc))
        return _render_scar(scar, status=409)
    link = _public_link(token)
    flash("A new link was created; the previous one no longer works. It is shown only this once.")
    _email_if_asked(scar, link)
    return _render_scar(scar, link=link)


# --------------------------------------------------------------------------- the supplier's answer page


def _scar_message(status: int) -> tuple[str, int]:
    if status == 404:
        return public_message("Link not valid", "This link is not valid. Please check the link you were sent.", 404)
    return public_message(
        "Already answered",
        "This link has already been used to answer. Thank you — your answer was received. "
        "If we need more from you, we will send you a new link.",
        409,
    )


@bp.route("/scar/<token>", methods=["GET", "POST"])
@limiter.limit(PUBLIC_LIMIT, methods=["POST"])
def answer(token: str) -> Any:
    scar = scar_for_token(token)
    if scar is None:
        return _scar_message(404)
    if scar.state != "awaiting_response" or scar.link_used_at is not None:
        return _scar_message(409)
    errors: dict[str, str] = {}
    values: MultiDict = MultiDict()
    status = 200
    if request.method == "POST":
        form = limited_form()
        if form is None:
            return too_large()
        values = form
        unknown = sorted(name for name in form if name not in {*ANSWER_FIELDS, "csrf_token"})
        if unknown:
            errors["form"] = "The form contained fields it does not ask for: " + ", ".join(n[:40] for n in unknown[:10])
            status = 422
        else:
            answer_data = {name: form.get(name, "") for name in ANSWER_FIELDS}
            try:
                submit_scar_answer(token, **answer_data)
            except InvalidData as exc:
                errors = dict(exc.errors)
                status = 422
            except InvalidTransition:
                return _scar_message(409)
            except NotPermitted:
                return _scar_message(404)
            except WorkflowError as exc:
                errors = {"form": message_of(exc)}
                status = 409
            else:
                return redirect(url_for("suppliers.answer_received"))
    return render_template(
        "suppliers/public_answer.html", scar=scar, errors=errors, values=values, limit=ANSWER_LIMIT
    ), status


@bp.route("/scar-answered")
def answer_received() -> str:
    return render_template("suppliers/public_thanks.html")


@bp.app_template_global("supplier_panel_for")
def supplier_panel_for(nc: Nonconformity) -> dict[str, Any]:
    """What an NC page shows of its supplier and SCARs (one query each, only for supplier NCs)."""
    if nc.supplier_id is None:
        return {}
    return {
        "supplier": db.session.get(Supplier, nc.supplier_id),
        "scars": list(db.session.scalars(select(Scar).where(Scar.nonconformity_id == nc.id).order_by(Scar.id))),
        "can_request": _has(SCAR_ROLES) and nc.state not in ("closed", "rejected"),
        "sources": NC_SOURCES,
    }
