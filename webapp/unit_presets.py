"""常用组合 pages: the office saves the member units ticked on a 受理 form under a name, applies a saved set on the
form, and lists and deletes the sets (workflow/core/unit_presets.py does the work; the API calls the same services).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from webapp.auth.current import actor
from webapp.cases import bp
from webapp.database import db, unit_of_work, utcnow
from webapp.errors import message_of
from workflow.core import unit_presets
from workflow.core.access import get_case
from workflow.core.errors import NotFound, WorkflowError
from workflow.core.models import Role
from workflow.core.reasons import parse_whole

FIELD = "member_units"  # the field of the 受理 form whose units a set holds


def _ids(values: list[str]) -> list[int]:
    """The ids among form values (others are left out: the service refuses an empty choice)."""
    return [n for n in (parse_whole(v) for v in values) if n is not None]


def presets_for_form(session: Any, fields: list[str]) -> tuple[list[unit_presets.PresetView] | None, Any, int | None]:
    """What the transition page needs for its member units: the saved sets (None: the page shows none, it has no
    units to choose or the user is not the office), the form to fill the page with on a GET (a saved set's units
    when `?preset=ID` names one, the units and name sent back after a refused save, else None) and the chosen set."""
    me = actor()
    if FIELD not in fields or me.role != Role.office.value:
        return None, None, None
    presets = unit_presets.list_presets(session, me)
    if request.method != "GET":
        return presets, None, None
    raw = request.args.get("preset", "")
    if raw:
        chosen = next((p for p in presets if str(p.id) == raw), None)
        if chosen is None:
            flash(_("That saved set of member units no longer exists."), "warning")
            return presets, None, None
        return presets, MultiDict([(FIELD, str(i)) for i in chosen.active_ids]), chosen.id
    if FIELD in request.args or "preset_name" in request.args:  # back from a refused save: the ticks kept
        kept = [(FIELD, str(i)) for i in _ids(request.args.getlist(FIELD))]
        return presets, MultiDict([*kept, ("preset_name", request.args.get("preset_name", "")[:200])]), None
    return presets, None, None


@bp.route("/cases/<int:case_id>/do/<trigger>/unit-preset", methods=["POST"])
@login_required
def save_unit_preset(case_id: int, trigger: str) -> ResponseReturnValue:
    """保存为常用组合, from the 受理 form: the units ticked, under the name typed; back to the form either way."""
    me = actor()
    get_case(db(), me, case_id)  # a case the user may not see answers as a missing one
    back = url_for("cases.transition", case_id=case_id, trigger=trigger)
    unit_ids = _ids(request.form.getlist(FIELD))
    name = request.form.get("preset_name", "")
    try:
        with unit_of_work() as s:
            saved = unit_presets.save_preset(s, me, name=name, unit_ids=unit_ids, now=utcnow())
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(message_of(exc), "error")
        return redirect(url_for("cases.transition", case_id=case_id, trigger=trigger, member_units=unit_ids,
                                preset_name=name[:200]), 303)
    if saved.replaced:
        flash(_("Saved set “%(name)s” updated: %(n)s member units.", name=saved.preset.name,
                n=len(saved.preset.unit_ids)), "success")
    else:
        flash(_("Saved as “%(name)s”: %(n)s member units.", name=saved.preset.name, n=len(saved.preset.unit_ids)),
              "success")
    return redirect(f"{back}?preset={saved.preset.id}", 303)


@bp.route("/unit-presets")
@login_required
def unit_presets_page() -> ResponseReturnValue:
    """The saved sets with their units, each with a delete button (the office's)."""
    return render_template("cases/unit_presets.html", presets=unit_presets.list_presets(db(), actor()))


@bp.route("/unit-presets/<int:preset_id>/delete", methods=["POST"])
@login_required
def delete_unit_preset(preset_id: int) -> ResponseReturnValue:
    """Delete a set; one already gone (deleted in another window) is said so on the list."""
    try:
        with unit_of_work() as s:
            gone = unit_presets.delete_preset(s, actor(), preset_id, utcnow())
    except NotFound:
        flash(_("That saved set of member units no longer exists."), "warning")
        return redirect(url_for("cases.unit_presets_page"), 303)
    flash(_("Saved set “%(name)s” deleted.", name=gone.name), "success")
    return redirect(url_for("cases.unit_presets_page"), 303)
