"""Unit pages (role admin): list by kind and status, create, rename, deactivate and reactivate. Units are never
deleted: cases, towns, accounts and the audit trail point at them."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from webapp.admin import bp
from webapp.admin.users import _int
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import field_errors
from workflow.accounts import units as service
from workflow.core.errors import WorkflowError


@bp.app_template_global()
def unit_kind_label(kind: str) -> str:
    return {"county": _("County"), "office": _("The leading group's office"), "member": _("Member unit"),
            "leading_group": _("Leading group")}.get(kind, kind)


@bp.route("/units")
def units() -> ResponseReturnValue:
    args = request.args
    kind = args.get("kind") if args.get("kind") in service.KINDS else None
    status = args.get("status") if args.get("status") in service.STATUSES else None
    page = service.list_units(db(), actor=actor(), kind=kind, status=status, page=_int(args.get("page"), 1),
                              per_page=current_app.config["PAGE_SIZE"])
    return render_template("admin/units.html", page=page, kinds=service.KINDS, statuses=service.STATUSES,
                           filters={"kind": kind or "", "status": status or ""})


@bp.route("/units/new", methods=["GET", "POST"])
def new_unit() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                unit = service.create_unit(s, actor=actor(), name=request.form.get("name", ""),
                                           kind=request.form.get("kind", ""), now=utcnow())
                unit_id = unit.id
        except WorkflowError as exc:
            if exc.status == 403:
                raise
            errors = field_errors(exc)
        else:
            flash(_("The unit is created."), "success")
            return redirect(url_for("admin.unit", unit_id=unit_id))
    return render_template("admin/units_new.html", kinds=service.KINDS, form=request.form,
                           errors=errors), 422 if errors else 200


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def unit(unit_id: int) -> ResponseReturnValue:
    me = actor()
    errors: dict[str, list[str]] = {}
    row = service.get_unit(db(), actor=me, unit_id=unit_id)
    if request.method == "POST":
        try:
            with unit_of_work() as s:
                changed = service.rename_unit(s, actor=me, unit_id=unit_id, name=request.form.get("name", ""),
                                              now=utcnow())
        except WorkflowError as exc:
            if exc.status in (403, 404):
                raise
            errors = field_errors(exc)
        else:
            flash(_("The unit is renamed.") if changed else _("Nothing changed."), "success" if changed else "info")
            return redirect(url_for("admin.unit", unit_id=unit_id))
    form = request.form if errors else {"name": row.name}
    return render_template("admin/units_show.html", unit=row, form=form, errors=errors,
                           can_deactivate=row.kind not in service.SINGLE_KINDS), 422 if errors else 200


@bp.route("/units/<int:unit_id>/deactivate", methods=["POST"])
def deactivate_unit(unit_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        changed = service.set_unit_active(s, actor=actor(), unit_id=unit_id, active=False, now=utcnow())
    flash(_("The unit is deactivated: it is no longer chosen for new work; its history stays.") if changed
          else _("Nothing changed."), "success" if changed else "info")
    return redirect(url_for("admin.unit", unit_id=unit_id))


@bp.route("/units/<int:unit_id>/activate", methods=["POST"])
def activate_unit(unit_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        changed = service.set_unit_active(s, actor=actor(), unit_id=unit_id, active=True, now=utcnow())
    flash(_("The unit is active again.") if changed else _("Nothing changed."), "success" if changed else "info")
    return redirect(url_for("admin.unit", unit_id=unit_id))
