"""The designation application form (申报书), its live eligibility panel, and the partials for the case page.

The form works without JavaScript: repeating groups have a fixed number of rows and an "add rows"
button that re-renders the page; "check eligibility" re-renders with the panel. application.js only
refreshes the panel while the county types. The fields, their limits and their messages are in
workflow/designation/application.py; the criteria are in definitions/eligibility.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select
from werkzeug.datastructures import MultiDict

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.designation import bp
from webapp.errors import field_errors, is_english, message_of
from webapp.templating import lang
from workflow.core.access import get_case, town_filter
from workflow.core.actors import Actor
from workflow.core.attachments import ACCEPTED, store_upload
from workflow.core.catalog import CATALOG
from workflow.core.engine import create_case, fire
from workflow.core.errors import WorkflowError
from workflow.core.models import Case, Town
from workflow.core.reasons import parse_whole
from workflow.designation import application as schema
from workflow.designation import eligibility, materials
from workflow.towns.services import create_town

DEFINITION = "designation"
# Repeating groups: form-field prefix, the sub-fields of one row, rows shown at first, rows one click adds.
GROUPS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "leading_enterprises": ("le", ("name", "honours"), 5),
    "brands": ("br", ("name", "level"), 3),
    "standards": ("st", ("name", "level", "role"), 3),
}
MORE_ROWS = 3
MAX_ROWS = 50

eligibility.default_table()  # a broken definitions/eligibility.yaml stops the application from starting


# --- form <-> data -------------------------------------------------------------------------------------------


def _text(form: Any, key: str) -> str | None:
    value = (form.get(key) or "").replace("\r\n", "\n").strip()
    return value or None


def _rows(form: Any, group: str) -> int:
    prefix, _fields, initial = GROUPS[group]
    count = parse_whole(form.get(f"{prefix}_rows"), low=0, high=999, default=initial)
    return max(1, min(count, MAX_ROWS))


def read_form(form: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The application data typed into the form, and the reasons a number could not be read."""
    data: dict[str, Any] = {}
    problems: list[dict[str, Any]] = []
    for name, spec in schema.FIELDS.items():
        if spec.kind in ("decimal", "integer"):
            try:
                data[name] = schema.number_from_text(name, form.get(name, ""))
            except schema.NotANumber as exc:
                problems.append(exc.reason)
                data[name] = None
        elif spec.kind in ("text", "choice"):
            data[name] = _text(form, name)
    for group, (prefix, fields, _initial) in GROUPS.items():
        rows = []
        for i in range(_rows(form, group)):
            row: dict[str, Any] = {}
            for sub in fields:
                key = f"{prefix}-{i}-{sub}"
                many = schema.FIELDS[group].item[sub].kind == "multichoice"
                row[sub] = form.getlist(key) if many else _text(form, key)
            if any(not schema.is_empty(v) for v in row.values()):
                rows.append(row)
        data[group] = rows
    platforms: list[dict[str, Any]] = []
    for kind in schema.PLATFORM_KINDS:
        platform = _text(form, f"pf-{kind}-name")
        if form.get(f"pf-{kind}") or platform:  # a name typed without ticking the box still counts
            platforms.append({"kind": kind, "name": platform})
    data["platforms"] = platforms
    return data, problems


def form_of(data: dict[str, Any]) -> MultiDict:
    """The form fields showing stored data (the same shape `read_form` reads)."""
    form: MultiDict = MultiDict()
    for name, spec in schema.FIELDS.items():
        value = data.get(name)
        if spec.kind in ("decimal", "integer"):
            form[name] = schema.text_for_number(name, value)
        elif spec.kind in ("text", "choice"):
            form[name] = value if isinstance(value, str) else ""
    for group, (prefix, fields, initial) in GROUPS.items():
        items = [i for i in data.get(group) or [] if isinstance(i, dict)]
        for i, item in enumerate(items):
            for sub in fields:
                value = item.get(sub)
                if isinstance(value, list):
                    for v in value:
                        form.add(f"{prefix}-{i}-{sub}", v)
                elif value is not None:
                    form[f"{prefix}-{i}-{sub}"] = str(value)
        form[f"{prefix}_rows"] = str(min(max(initial, len(items) + 1), MAX_ROWS))
    for item in data.get("platforms") or []:
        if isinstance(item, dict) and item.get("kind") in schema.PLATFORM_KINDS:
            form[f"pf-{item['kind']}"] = "1"
            form[f"pf-{item['kind']}-name"] = item.get("name") or ""
    return form


def _more_rows(form: MultiDict, group: str) -> tuple[MultiDict, int]:
    """The form with more rows in `group`; returns the index of the first new row."""
    prefix = GROUPS[group][0]
    form = form.copy()
    before = _rows(form, group)
    form[f"{prefix}_rows"] = str(min(before + MORE_ROWS, MAX_ROWS))
    return form, before


def _errors_of(reasons: list[dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in reasons:
        found.setdefault(r.get("field") or "", []).append(r["en" if is_english() else "zh"])
    return found


def _store_materials(session: Any, me: Actor, case_id: int) -> list[str]:
    """Keep the 证明材料 chosen on the form, each with its kind, in the transaction that saves the application (so
    that a refused file keeps nothing, the data neither). Returns the names kept."""
    kept = []
    for material in materials.checklist():
        file = request.files.get(f"material-{material.kind}")
        if file is None or not file.filename:
            continue
        try:
            row = store_upload(session=session, actor=me, case_id=case_id, filename=file.filename, stream=file.stream,
                               now=utcnow(), upload_dir=current_app.config["UPLOAD_DIR"], kind=material.kind)
        finally:
            file.close()
        kept.append(row.filename)
    return kept


def _material_errors(exc: WorkflowError) -> dict[str, list[str]]:
    """A refused file's reasons shown beside the materials on the form."""
    errors = field_errors(exc)
    errors.setdefault("materials", []).extend(errors.pop("file", []))
    return errors


def _stored(data: dict[str, Any]) -> dict[str, Any]:
    """What `create_case` keeps: the fields that hold something."""
    return {k: v for k, v in data.items() if not schema.is_empty(v)}


# --- pages ---------------------------------------------------------------------------------------------------


def _candidate_towns(me: Actor) -> list[Town]:
    registry = select(Case.town_id).where(Case.definition_key == "town", Case.state == "candidate")
    return list(db().exec(select(Town).where(town_filter(me), Town.id.in_(registry))  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
                          .order_by(Town.name)).all())


def _render(*, form: MultiDict, errors: dict[str, list[str]], case: Case | None = None,
            towns: Sequence[Town] = (), focus: str | None = None, status: int = 200,
            checked: bool = False) -> ResponseReturnValue:
    data, _problems = read_form(form)
    result = eligibility.evaluate(data)
    town = db().get(Town, case.town_id) if case is not None and case.town_id else None
    spec = None
    if case is not None:
        definition = CATALOG.get(case.definition_key, case.definition_version, db())
        spec = definition.transition("submit", case.state) or definition.transition("resubmit", case.state)
    groups = {g: {"prefix": p, "rows": _rows(form, g)} for g, (p, _f, _i) in GROUPS.items()}
    return render_template(
        "designation/application_form.html", form=form, errors=errors, case=case, town=town, towns=towns,
        fields=schema.FIELDS, schema=schema, groups=groups, eligibility=result, focus=focus,
        submit_spec=spec, checked=checked, relaxed_minimum=eligibility.default_table().shown("output_relaxed"),
        checklist=materials.status(db(), case.id if case is not None else None, case.data if case else data),
        accept=",".join(f".{ext}" for ext in ACCEPTED),
        action_url=(url_for("designation.application", case_id=case.id) if case
                    else url_for("designation.new_application")),
    ), status


def _act(form: MultiDict) -> tuple[str, str | None]:
    action = form.get("action", "save")
    if action.startswith("more:") and action[5:] in GROUPS:
        return "more", action[5:]
    return (action if action in ("save", "submit", "check") else "save"), None


def _posted(**context: Any) -> tuple[ResponseReturnValue | None, MultiDict[str, str], str, dict[str, Any],
                                    dict[str, list[str]]]:
    """The steps every POST of the form shares: more rows, reading the fields, the eligibility check,
    the confirmation box. Returns the page to send at once (or None), the form, the action, the data and
    the field errors so far; `context` (town choices or the case) goes to the page."""
    form = request.form.copy()
    action, group = _act(form)
    if action == "more" and group is not None:
        form, first = _more_rows(form, group)
        focus = f"{GROUPS[group][0]}-{first}-name"
        return _render(form=form, errors={}, focus=focus, **context), form, action, {}, {}
    data, problems = read_form(form)
    errors = _errors_of(problems + schema.check_types(data))
    if action == "check":
        shown = _render(form=form, errors=errors, checked=True, status=422 if errors else 200, **context)
        return shown, form, action, data, errors
    if action == "submit" and form.get("confirmed") != "yes":
        errors.setdefault("confirmed", []).append(_("Tick the box to confirm the submission."))
    return None, form, action, data, errors


@bp.route("/cases/new/application", methods=["GET", "POST"])
@login_required
def new_application() -> ResponseReturnValue:
    me = actor()
    if me.role not in CATALOG.current(DEFINITION).create_roles:
        abort(403)
    towns = _candidate_towns(me)
    if request.method == "GET":
        form = form_of({})
        if towns:
            form["town_id"] = ""
        return _render(form=form, errors={}, towns=towns)
    shown, form, action, data, errors = _posted(towns=towns)
    if shown is not None:
        return shown
    town_raw = form.get("town_id", "")
    new_town = _text(form, "new_town")
    if town_raw not in ("new", *(str(t.id) for t in towns)):
        errors.setdefault("town_id", []).append(_("Choose the town, or a new town and its name."))
    if errors:
        return _render(form=form, errors=errors, towns=towns, status=422)
    try:
        with unit_of_work() as s:
            if town_raw == "new":
                town_id = create_town(
                    session=s, actor=me, name=new_town or "", county_id=me.unit_id or 0, now=utcnow(),
                    industry_category=schema.valid_value(data, "industry_category"),
                    leading_industry=schema.valid_value(data, "leading_industry")).id
            else:
                town_id = int(town_raw)
            case = create_case(session=s, definition_key=DEFINITION, actor=me, now=utcnow(), town_id=town_id,
                               data=_stored(data))
            _store_materials(s, me, case.id)  # type: ignore[arg-type]  # create_case flushed the row
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        errors = _material_errors(exc)
        errors.setdefault("new_town", []).extend(errors.pop("name", []))
        return _render(form=form, errors=errors, towns=towns, status=422)
    if action == "submit":
        return _submit(case, form)
    flash(_("Application %(number)s saved as a draft.", number=case.number), "success")
    return redirect(url_for("designation.application", case_id=case.id))


def _editable_case(case_id: int) -> Case:
    me = actor()
    case = get_case(db(), me, case_id)  # 404 for a case of another county, as for a missing one
    if case.definition_key != DEFINITION:
        abort(404)
    definition = CATALOG.get(case.definition_key, case.definition_version, db())
    if not any(me.role in t.roles for t in definition.transitions if t.trigger == "edit"):
        abort(403)
    if definition.transition("edit", case.state) is None:
        flash(_("The application can be changed only while it is a draft or returned for revision."), "warning")
        abort(redirect(url_for("cases.show", case_id=case.id)))
    return case


@bp.route("/cases/<int:case_id>/application", methods=["GET", "POST"])
@login_required
def application(case_id: int) -> ResponseReturnValue:
    case = _editable_case(case_id)
    if request.method == "GET":
        form = form_of(case.data)
        form["expected_version"] = str(case.version)
        return _render(form=form, errors={}, case=case)
    shown, form, action, data, errors = _posted(case=case)
    if shown is not None:
        return shown
    version = form.get("expected_version", "")
    expected = parse_whole(version, low=0)
    if expected is None:
        errors.setdefault("", []).append(_("The form is incomplete; reload the page."))
    if errors:
        return _render(form=form, errors=errors, case=case, status=422)
    try:
        with unit_of_work() as s:
            case = fire(session=s, case_id=case.id, trigger="edit", actor=actor(), now=utcnow(),  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                        payload=data, expected_version=expected)
            _store_materials(s, actor(), case.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(message_of(exc), "error")
        return _render(form=form, errors=_material_errors(exc), case=case, status=exc.status)
    if action == "submit":
        return _submit(case, form)
    flash(_("Application saved."), "success")
    return redirect(url_for("designation.application", case_id=case.id))


def _submit(case: Case, form: MultiDict) -> ResponseReturnValue:
    """Submit (or resubmit) a just-saved application; when refused, the saved form shows every reason."""
    definition = CATALOG.get(case.definition_key, case.definition_version, db())
    trigger = "submit" if definition.transition("submit", case.state) else "resubmit"
    try:
        with unit_of_work() as s:
            fire(session=s, case_id=case.id, trigger=trigger, actor=actor(), now=utcnow(),  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                 expected_version=case.version)
    except WorkflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(_("The application is saved but cannot be submitted yet: see the reasons beside the fields."), "error")
        form = form.copy()
        form["expected_version"] = str(case.version)
        form.pop("confirmed", None)
        return _render(form=form, errors=field_errors(exc), case=case, status=422)
    flash(_("Application %(number)s submitted.", number=case.number), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/cases/eligibility-preview", methods=["POST"])
@login_required
def eligibility_preview() -> ResponseReturnValue:
    """The eligibility panel for what the form holds now (application.js asks while the county types)."""
    actor()
    data, _problems = read_form(request.form)
    return render_template("designation/_eligibility.html", eligibility=eligibility.evaluate(data), live=True)


# --- the case page -------------------------------------------------------------------------------------------


def eligibility_panel_context(case: Case) -> dict[str, Any]:
    """Context for designation/_eligibility.html on a case page: the evaluation of its application (None otherwise)."""
    if case is None or case.definition_key != DEFINITION:
        return {"eligibility": None}
    return {"eligibility": eligibility.evaluate(case.data or {})}


def application_view(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The application as label/value rows for reading; lists become small tables."""
    locale = lang()
    rows: list[dict[str, Any]] = []
    for name, spec in schema.FIELDS.items():
        value = data.get(name)
        row: dict[str, Any] = {"name": name, "label": spec.label.get(locale), "kind": spec.kind}
        if spec.kind == "list":
            items = [i for i in value or [] if isinstance(i, dict)]
            if name == "platforms":
                row["items"] = [{"kind": schema.PLATFORM_KINDS[i["kind"]].get(locale) if i.get("kind") in
                                 schema.PLATFORM_KINDS else str(i.get("kind")), "name": i.get("name") or ""}
                                for i in items]
                row["columns"] = [schema.FIELDS[name].item["kind"].label.get(locale),
                                  schema.FIELDS[name].item["name"].label.get(locale)]
                row["keys"] = ["kind", "name"]
            else:
                keys = list(spec.item)
                row["columns"] = [spec.item[k].label.get(locale) for k in keys]
                row["keys"] = keys
                row["items"] = [{k: _item_text(spec.item[k], i.get(k), locale) for k in keys} for i in items]
        else:
            shown = schema.display(name, value, locale)
            if shown and spec.unit and spec.unit.get(locale):
                shown = f"{shown} {spec.unit.get(locale)}"
            row["value"] = shown
            row["multiline"] = spec.multiline
        rows.append(row)
    return rows


def _item_text(spec: schema.FieldSpec, value: Any, locale: str) -> str:
    if schema.is_empty(value):
        return ""
    if spec.kind == "multichoice" and isinstance(value, list):
        sep = ", " if locale == "en" else "、"
        return sep.join(spec.choices[v].get(locale) if v in spec.choices else str(v) for v in value)
    if spec.kind == "choice":
        return spec.choices[value].get(locale) if value in spec.choices else str(value)
    return str(value)


@bp.app_context_processor
def application_helpers() -> dict[str, Any]:
    """`eligibility_for`, `application_for` and `application_editable` (of a case) for the partials."""

    def eligibility_for(case: Case) -> Any:
        return eligibility_panel_context(case)["eligibility"]

    def application_for(case: Case) -> list[dict[str, Any]] | None:
        if case is None or case.definition_key != DEFINITION:
            return None
        return application_view(case.data or {})

    def application_editable(case: Case) -> bool:
        if case is None or case.definition_key != DEFINITION or not current_user.is_authenticated:
            return False
        definition = CATALOG.get(case.definition_key, case.definition_version, db())
        spec = definition.transition("edit", case.state)
        return spec is not None and current_user.role in spec.roles

    def materials_for(case: Case) -> list[Any] | None:
        """The checklist of 证明材料 (definitions/materials.yaml) with the files attached of each kind."""
        if case is None or case.definition_key != DEFINITION:
            return None
        return materials.status(db(), case.id, case.data or {})

    return {"eligibility_for": eligibility_for, "application_for": application_for,
            "application_editable": application_editable, "materials_for": materials_for}
