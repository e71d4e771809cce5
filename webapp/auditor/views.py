"""Read the trail: search with keyset pages, a case's history, export, verify. Nothing here edits or deletes;
every search, export and check is itself recorded in the trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, Any

from flask import Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlmodel import col, select
from werkzeug.datastructures import MultiDict

from webapp.auditor import bp
from webapp.auditor.export import TooMany, values, write_csv, write_xlsx
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow, writes
from webapp.files.views import KIND_LABELS as ATTACHMENT_KINDS
from webapp.templating import definition_label, lang, localtime, role_label
from workflow.core import audit
from workflow.core.access import MAX_ID
from workflow.core.calendar import LOCAL_TZ, local_date
from workflow.core.catalog import CATALOG
from workflow.core.labels import field_label, has_label, value_label
from workflow.core.models import HUMAN_ROLES, Case, Role, Unit, UnitKind
from workflow.core.reasons import parse_whole
from workflow.core.visibility import AuditorReader, AuditorView, Withheld

PAGE_SIZE = 50
EXPORT_LIMIT = 1_000_000  # rows in one file (an .xlsx sheet holds 1,048,576)
FILTERS = ("start", "end", "user", "unit", "role", "county", "case", "kind")

KIND_LABELS = {
    "transition": _l("Step on a case"), "case_created": _l("Case created"), "town_created": _l("Town registered"),
    "attachment_added": _l("Attachment added"), "login_ok": _l("Login"), "login_failed": _l("Failed login"),
    "logout": _l("Logout"), "lockout": _l("Account locked after failures"), "session_ended": _l("Session ended"),
    "password_changed": _l("Password change"), "user_created": _l("Account creation"),
    "account_requested": _l("Account change awaiting approval"),
    "account_request_approved": _l("Account change approved"),
    "account_request_rejected": _l("Account change rejected"),
    "user_locked": _l("Account locked"), "user_unlocked": _l("Account unlocked"),
    "login_rate_limited": _l("Too many login attempts"), "password_expired": _l("Password expired"),
    "password_rehashed": _l("Password hash upgraded"), "notification_retried": _l("Notification queued again"),
    "notification_preferences_changed": _l("Notification settings changed"),
    "admin_change": _l("Administration change"), "permission_refused": _l("Permission refused"),
    "permission_refused_summary": _l("Permission refusals counted (beyond those recorded one by one)"),
    "seat_handed_over": _l("Roster seat handed over"), "acting_changed": _l("Acting seat changed"),
    "reminder_sent": _l("Reminder sent"), "notification_sent": _l("Notification sent"),
    "notification_failed": _l("Notification failed"), "deadline_failed": _l("Deadline processing failed"),
    "deadline_recounted": _l("Deadline counted again"),
    "template_replaced": _l("Document template replaced"), "template_restored": _l("Document template restored"),
    "search": _l("Audit trail searched"), "export": _l("Audit trail exported"),
    "integrity_check": _l("Integrity verified"), "anchor_written": _l("Anchor written"),
    "archive": _l("Audit trail archived"),
    "incident_opened": _l("Incident opened"), "incident_retried": _l("Incident retried successfully"),
    "incident_retry_failed": _l("Incident retried, failed again"), "incident_resolved": _l("Incident resolved by hand"),
    "incident_recovered": _l("Incident resolved by the job's next run"),
    "reminder_skipped": _l("Reminder skipped (too late)"),
    "demo_clock_set": _l("Demo clock set"),
    "files_swept": _l("Unreferenced files removed"),
    "receipt_expected": _l("Notice sent for acknowledgement"), "receipt_acknowledged": _l("Notice acknowledged"),
    "receipt_reminded": _l("Unacknowledged notice reminded"),
    "reminder_batch_sent": _l("Reminders sent by the office (batch)"),
    "tier_changed": _l("Town moved to another output tier"),
    "town_praised": _l("Town praised in the annual evaluation"),
    "dossier_downloaded": _l("Recommendation dossier downloaded"),
    "hash_algorithm_changed": _l("Audit hash algorithm changed"),
    "data_keys_rotated": _l("Personal data re-encrypted"),
    "password_common": _l("Common password must be changed"),
    "second_factor_required": _l("Two-step verification required (enrolment period started)"),
    "second_factor_enrolled": _l("Two-step verification set up"),
    "second_factor_reset": _l("Two-step verification reset by the administrator"),
    "recovery_code_used": _l("Recovery code used"),
    "sms_code_sent": _l("Login code sent by SMS"),
    "recovery_codes_regenerated": _l("Recovery codes replaced by new ones"),
    "problems_imported": _l("Problem ledger imported from Excel"),
    "statistics_campaign_opened": _l("Annual statistics reports opened"),
    "statistics_imported": _l("Annual statistics imported from Excel"),
    "evaluation_campaign_opened": _l("Annual evaluation opened"),
    "meeting_recorded": _l("Leading group meeting's decisions recorded"),
    "plan_tasks_imported": _l("Action plan's tasks imported from Excel"),
    "unit_preset_saved": _l("Saved set of member units saved"),
    "unit_preset_deleted": _l("Saved set of member units deleted"),
    "list_exported": _l("List exported to Excel"),
    "designation_renewed": _l("Designation renewed (next review date)"),
    "redesignation_reviews_opened": _l("Re-designation reviews opened"),
}


@bp.app_template_global("event_kind_label")
def kind_label(kind: str) -> str:
    """What an event of `kind` is, in the reader's language (the kind itself when it has no label)."""
    label = KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


EVENT_KEYS = {  # what an event's data says, by name; the fields of a case are named by workflow.core.labels
    "username": _l("User name"), "user_id": _l("User"), "via": _l("Signed in with"), "reason": _l("Reason"),
    "error": _l("Error"), "action": _l("Action"), "until": _l("Until"), "was_locked_until": _l("Was locked until"),
    "version": _l("Version"), "tries": _l("Tries"), "try": _l("Try"), "town_id": _l("Town"),
    "unit_id": _l("Unit"), "role": _l("Role"), "resolution": _l("Resolution"), "name": _l("Name"),
    "document": _l("Document"), "definition": _l("Process"), "deadline_id": _l("Deadline"),
    "incident_id": _l("Incident"), "attachment_id": _l("Attachment"), "filename": _l("File name"),
    "sha256": _l("SHA-256"), "size": _l("Size (bytes)"), "kind": _l("Type"), "number": _l("Case number"),
    "derived_from_id": _l("Made from attachment"), "changed_at": _l("Changed at"), "previous": _l("Before"),
    "job": _l("Job"), "limit": _l("Limit"), "per_seconds": _l("Per seconds"), "hash": _l("Hash"),
    "seq": _l("Sequence"), "label": _l("Deadline"), "from": _l("From"), "to": _l("To"),
    "preset_id": _l("Saved set"), "unit_ids": _l("Member units"), "units": _l("Member units (names)"),
    "replaced": _l("Replaced an existing set"), "previous_unit_ids": _l("Member units before"),
    "list": _l("List"), "list_name": _l("List name"), "filters": _l("Filters"), "rows": _l("Rows exported"),
    "total": _l("Rows matching"), "capped": _l("Limited to the first rows"), "format": _l("Format"),
    "session": _l("Session"), "refused": _l("Refusals in the minute"), "recorded": _l("Recorded one by one"),
    "counted": _l("Counted only"),
    "email": _l("E-mail"), "mobile": _l("Mobile number"), "address": _l("Sent to"), "contact": _l("Contact details"),
    "recovery_codes": _l("Recovery codes issued"), "discarded_unused": _l("Unused recovery codes discarded"),
}
NESTED = ("data", "changes")  # a case's fields, shown one per line
# unit ids, shown by the unit's name
UNIT_KEYS = ("member_units", "consulted_units", "unit_id", "county_id", "unit_ids", "previous_unit_ids")


def _key_label(key: str) -> str:
    if has_label(key):
        return field_label(key, lang())
    found = EVENT_KEYS.get(key)
    return str(found) if found is not None else key


@bp.app_template_global()
def withheld_text(value: Withheld) -> str:
    """What the auditor reads in place of a value withheld from them (definitions/visibility.yaml)."""
    return _("Changed (not shown to the auditor)") if value.changed else _("Recorded (not shown to the auditor)")


@bp.app_template_test("withheld")
def is_withheld(value: Any) -> bool:
    return isinstance(value, Withheld)


def _value_text(key: str, value: Any, unit_names: dict[int, str] | None = None) -> str:
    if isinstance(value, Withheld):
        return withheld_text(value)
    if key == "role" and isinstance(value, str):
        return role_label(value)
    if key == "definition" and isinstance(value, str) and value.split("@")[0] in CATALOG.keys():
        return definition_label(value.split("@")[0])
    if key == "kind" and isinstance(value, str) and value in ATTACHMENT_KINDS:
        return str(ATTACHMENT_KINDS[value])
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":  # a stored moment: Beijing time
        return localtime(value, "%Y-%m-%d %H:%M:%S")
    if key in UNIT_KEYS and unit_names:
        ids = value if isinstance(value, list) else [value]
        if all(isinstance(i, int) and i in unit_names for i in ids):
            return "、".join(unit_names[i] for i in ids)
    if isinstance(value, dict):
        return "，".join(f"{_key_label(k)}：{_value_text(k, v, unit_names)}" for k, v in value.items()) or "—"
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return "；".join(_value_text(key, v, unit_names) for v in value)
    return value_label(key, value, lang())


@bp.app_template_global()
def event_fields(data: dict[str, Any], unit_names: dict[int, str] | None = None) -> list[tuple[str, str]]:
    """An audit event's data as the auditor is shown it (`redacted_for_auditor`) in (label, text) lines a person
    reads: field names and coded values by their labels, units by their names, a case's fields and its changes
    one per line (old → new), moments in Beijing time, withheld values as such."""
    lines: list[tuple[str, str]] = []
    for key, value in data.items():
        if key == "changes" and isinstance(value, dict):
            for field, change in value.items():
                if isinstance(change, Withheld):
                    lines.append((_key_label(field), withheld_text(change)))
                    continue
                old, new = change if isinstance(change, list) and len(change) == 2 else (None, change)
                shown = f"{_value_text(field, old, unit_names) or '—'} → {_value_text(field, new, unit_names) or '—'}"
                lines.append((_key_label(field), shown))
        elif key in NESTED and isinstance(value, dict):
            lines.extend((_key_label(field), _value_text(field, inner, unit_names)) for field, inner in value.items())
        else:
            lines.append((_key_label(key), _value_text(key, value, unit_names)))
    return lines


@bp.before_request
@login_required
def auditors_only() -> None:
    # 403, as the other role-bound areas answer: the pages' existence is no secret, and every refusal is audited.
    if current_user.role != Role.auditor:
        abort(403)


def _moment(text: str, *, end: bool) -> datetime:
    """A Beijing date or date and time from the form, as UTC; an end date alone means the whole of that day."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        moment = datetime.combine(day + timedelta(days=1) if end else day, time(0, 0), tzinfo=LOCAL_TZ)
    else:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=LOCAL_TZ)
    if not 2000 <= moment.year <= 2200:
        raise ValueError(text)
    return moment.astimezone(LOCAL_TZ)


def _criteria(args: MultiDict[str, str]) -> tuple[audit.Criteria, dict[str, list[str]]]:
    """The search criteria from the query string (or the export form), and what was wrong with it."""
    errors: dict[str, list[str]] = {}
    found: dict[str, Any] = {}
    for name, key in (("start", "start_at"), ("end", "end_at")):
        if args.get(name, "").strip():
            try:
                found[key] = _moment(args[name], end=name == "end")
            except ValueError:
                errors.setdefault(name, []).append(_("Not a date or time (YYYY-MM-DD or YYYY-MM-DD HH:MM)."))
    if "start_at" in found and "end_at" in found and found["end_at"] <= found["start_at"]:
        errors.setdefault("end", []).append(_("The end must come after the start."))
    for name, key in (("unit", "unit_id"), ("county", "county_id")):
        raw = args.get(name, "").strip()
        if raw:
            number = parse_whole(raw)
            if number is not None:
                found[key] = number
            else:
                errors.setdefault(name, []).append(_("Choose from the list."))
    role = args.get("role", "").strip()
    if role:
        if role in {*HUMAN_ROLES, Role.system}:
            found["role"] = role
        else:
            errors.setdefault("role", []).append(_("Choose from the list."))
    kind = args.get("kind", "").strip()
    if kind:
        if len(kind) <= 40:
            found["kind"] = kind
        else:
            errors.setdefault("kind", []).append(_("Choose from the list."))
    for name in ("user", "case"):
        text = args.get(name, "").strip()
        if len(text) > 100:
            errors.setdefault(name, []).append(_("At most 100 characters."))
        elif text:
            found[name] = text
    return audit.Criteria(**found), errors


def _seq(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    number = parse_whole(raw, low=0, high=2**62)
    if number is None:
        abort(400)
    return number


def _form_context() -> dict[str, Any]:
    units = db().exec(select(Unit).order_by(col(Unit.kind), col(Unit.id))).all()
    return {
        "units": units,
        "counties": [u for u in units if u.kind == UnitKind.county],
        "unit_names": {u.id: u.name for u in units},
        "roles": [*HUMAN_ROLES, Role.system],
        "kinds": audit.EVENT_KINDS,
        "kind_label": kind_label,
        "filters": {name: request.values.get(name, "") for name in FILTERS},
        "query": {name: request.values[name] for name in FILTERS if request.values.get(name)},
    }


@bp.route("/")
@writes  # every search is written to the trail
def search() -> ResponseReturnValue:
    criteria, errors = _criteria(request.args)
    before, after = _seq("before"), _seq("after")
    page, case_id = None, None
    if not errors:
        with unit_of_work() as s:
            page = audit.search(s, criteria, before=before, after=after, limit=PAGE_SIZE)
            shown = _redacted(s, page.items)
            audit.note_access(s, kind="search", actor=actor(), now=utcnow(), criteria=criteria, before=before,
                              after=after, shown=len(page.items))
            case_id = audit.case_id_of(s, criteria.case) if criteria.case else None
    cases = _cases_of(page.items) if page else {}
    named = db().get(Case, case_id) if case_id else None
    return render_template("auditor/search.html", page=page, errors=errors, case_id=case_id, cases=cases,
                           case_number=named.number if named else None, shown=shown if page else {},
                           **_form_context()), 400 if errors else 200


def _redacted(session: Any, events: list[Any]) -> dict[int, AuditorView]:
    """Each event's comment and data as the auditor is shown them, by seq."""
    reader = AuditorReader(session)
    reader.know(e.case_id for e in events)
    return {e.seq: reader(e) for e in events}


def _cases_of(events: list[Any]) -> dict[int, Case]:
    """The cases the events name, to show their steps and states by label."""
    ids = {e.case_id for e in events if e.case_id}
    if not ids:
        return {}
    return {c.id: c for c in db().exec(select(Case).where(Case.id.in_(ids))).all()}  # type: ignore[union-attr,misc]  # SQLModel types a column as its Python value, not a SQL expression


@bp.route("/cases/<int:case_id>")
@writes  # every look at a case's history is written to the trail
def case_history(case_id: int) -> ResponseReturnValue:
    if not 0 < case_id <= MAX_ID:
        abort(404)
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        events = audit.case_history(s, case_id)
        if case is None and not events:
            abort(404)
        shown = _redacted(s, events)
        audit.note_access(s, kind="search", actor=actor(), now=utcnow(), criteria=audit.Criteria(case=str(case_id)),
                          view="case_history", shown=len(events))
    return render_template("auditor/case.html", case=case, case_id=case_id, events=events, shown=shown,
                           **_form_context())


@bp.route("/export", methods=["POST"])
def export() -> ResponseReturnValue:
    criteria, errors = _criteria(request.form)
    fmt = request.form.get("format", "")
    if errors or fmt not in ("xlsx", "csv"):
        abort(400)
    s = db()
    units = {u.id: u.name for u in s.exec(select(Unit)).all() if u.id is not None}
    # Each batch is read in its own short transaction: a long export must not hold SQLite's write lock.
    reader = AuditorReader(s)  # comments and data as the auditor is shown them on the pages
    rows = (values(row, reader(row), kind_label, role_label, withheld_text, units)
            for row in audit.iter_events(s, criteria, release=True))
    try:
        if fmt == "xlsx":
            file, count = write_xlsx(rows, EXPORT_LIMIT, _("Audit trail"))
        else:
            file, count = write_csv(rows, EXPORT_LIMIT)
    except TooMany:
        s.rollback()
        limit = f"{EXPORT_LIMIT:,}"
        return render_template("errors/error.html", status=422, message=_(
            "More than %(limit)s events match; narrow the search (a shorter time range) and export again.",
            limit=limit)), 422
    with unit_of_work() as s:
        audit.note_access(s, kind="export", actor=actor(), now=utcnow(), criteria=criteria, format=fmt, rows=count)
    name = f"audit-trail-{local_date(utcnow()):%Y%m%d}.{fmt}"
    mimetype = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                else "text/csv; charset=utf-8")
    size = file.seek(0, 2)
    file.seek(0)
    return Response(_chunks(file), mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={name}", "Content-Length": str(size)})


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    """The file's bytes; the temporary file is closed (and gone) when the response ends, read or not."""
    try:
        while chunk := file.read(1 << 16):
            yield chunk
    finally:
        file.close()


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> ResponseReturnValue:
    result = None
    if request.method == "POST":
        result = audit.check_integrity(current_app.extensions["zyz"]["engine"],
                                       anchor_dir=current_app.config["ANCHOR_DIR"],
                                       key=str(current_app.config["AUDIT_HMAC_KEY"]).encode())
        with unit_of_work() as s:
            audit.note_access(s, kind="integrity_check", actor=actor(), now=utcnow(), ok=result.ok,
                              result=result.describe("en"))
    return render_template("auditor/verify.html", result=result)
