"""How the transition form shows and reads each payload field (presentation only; rules are in workflow/)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from workflow.core.reasons import parse_whole
from workflow.designation import experts


@dataclass(frozen=True)
class Widget:
    kind: str  # text | textarea | date | number | integer | choice | units | experts | finding
    label: Any
    choices: tuple[tuple[str, Any], ...] = ()
    internal: bool = False  # set by the system, never on a form


SEVERITY_CHOICES = (("low", _l("Minor")), ("medium", _l("Significant")), ("high", _l("Serious")))


WIDGETS: dict[str, Widget] = {
    "member_units": Widget("units", _l("Member units asked for opinions")),
    "opinion_due_date": Widget("date", _l("Opinion deadline (default 7 working days)")),
    "opinion": Widget("choice", _l("Opinion"), (("agree", _l("Agree")), ("disagree", _l("Disagree")))),
    "experts": Widget("experts", _l("Expert panel")),
    "expert_recommendation": Widget("textarea", _l("Panel recommendation")),
    "due_date": Widget("date", _l("Deadline")),
    "requested_due_date": Widget("date", _l("Requested new deadline")),
    "report": Widget("textarea", _l("Rectification report")),
    "finding_no": Widget("integer", _l("Finding number")),
    "decision": Widget("choice", _l("Decision"), (("no_action", _l("No action needed")),
                                                   ("rectify", _l("Order rectification")))),
    "output_yi": Widget("number", _l("Output of the leading industry (100 million yuan)")),
    "problem": Widget("textarea", _l("Problem to rectify")),
    "severity": Widget("choice", _l("Severity"), SEVERITY_CHOICES),
    "finding": Widget("finding", _l("Finding")),
    "planned_date": Widget("date", _l("Planned date")),
    "campaign": Widget("text", _l("Campaign")),
    "note": Widget("textarea", _l("Note")),
    "confirmation": Widget("textarea", _l("How the town still meets the designation criteria")),
    "leading_enterprise_names": Widget("textarea", _l("Leading enterprises (one a line)")),
    "supporting_enterprises": Widget("integer", _l("Supporting upstream and downstream enterprises")),
    "source": Widget("text", "source", internal=True),
    "inspection_id": Widget("integer", "inspection", internal=True),
}


class FieldError(ValueError):
    pass


def widget(name: str) -> Widget:
    return WIDGETS.get(name, Widget("text", name))


def _id(raw: str) -> int:
    """An id chosen in a form; ValueError for anything else."""
    number = parse_whole(raw)
    if number is None:
        raise ValueError(raw)
    return number


def parse_field(name: str, form: Any) -> Any:
    """The payload value of field `name` from a submitted form (None when left empty)."""
    kind = widget(name).kind
    if kind == "units":
        values = form.getlist(name)
        try:
            return [_id(v) for v in values]
        except ValueError:
            raise FieldError(_l("Choose member units from the list.")) from None
    if kind == "finding":
        text = (form.get("finding_text") or "").strip()
        try:
            evidence = [_id(v) for v in form.getlist("finding_attachments")]
        except ValueError:
            raise FieldError(_l("Choose evidence from the case's attachments.")) from None
        found = {"text": text, "severity": form.get("finding_severity") or "", "attachments": evidence}
        if form.get("finding_type"):
            found["type"] = form.get("finding_type")
        return found
    if kind == "experts":
        return _expert_rows(form)
    raw = (form.get(name) or "").strip()
    if raw == "":
        return None
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]{1,9}", raw):
            raise FieldError(_l("Enter a whole number."))
        return int(raw)
    if kind == "number":
        if not re.fullmatch(r"-?[0-9]{1,12}(\.[0-9]{1,2})?", raw):
            raise FieldError(_l("Enter a number with at most two decimals."))
        return float(raw)
    return raw


def read_payload(fields: list[str], form: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The payload of a form for `fields` (empty ones left out), and the field errors found reading it."""
    payload: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in fields:
        try:
            value = parse_field(name, form)
        except FieldError as exc:
            errors.setdefault(name, []).append(str(exc))
            continue
        if value not in (None, []):
            payload[name] = value
    return payload, errors


def expert_rows(form: Any) -> list[dict[str, Any]]:
    """The rows of the expert table as submitted (names, affiliations and scores as typed), for showing it again."""
    names, affiliations = form.getlist("expert_name"), form.getlist("expert_affiliation")
    columns = {c.key: form.getlist(f"expert_score_{c.key}") for c in experts.criteria()}
    rows = []
    for i, name in enumerate(names):
        rows.append({"name": name, "affiliation": affiliations[i] if i < len(affiliations) else "",
                     "scores": {k: (v[i] if i < len(v) else "") for k, v in columns.items()}})
    return rows


def _expert_rows(form: Any) -> list[dict[str, Any]]:
    """The panel of the expert table: a row left wholly empty is skipped; the totals are computed in workflow/."""
    panel = []
    for row in expert_rows(form):
        typed = {k: v.strip() for k, v in row["scores"].items()}
        if not row["name"].strip() and not row["affiliation"].strip() and not any(typed.values()):
            continue
        scores: dict[str, float] = {}
        for key, value in typed.items():
            if not re.fullmatch(r"[0-9]{1,3}(\.[0-9])?", value):
                raise FieldError(_l("Give every score of every expert as a number (one decimal at most)."))
            scores[key] = int(value) if value.isdigit() else float(value)
        panel.append(experts.expert(row["name"], row["affiliation"], scores))
    return panel


EXPERT_ROWS = 5  # empty rows the table offers


def expert_table(form: Any) -> list[dict[str, Any]]:
    """The rows the expert table shows: those submitted (with their totals when every score is a number), then
    empty ones up to EXPERT_ROWS."""
    rows = expert_rows(form)
    for row in rows:
        try:
            row["total"] = experts.total({k: float(v) for k, v in row["scores"].items()})
        except ValueError:
            row["total"] = None
    rows += [{"name": "", "affiliation": "", "scores": {}, "total": None}
             for _ in range(max(0, EXPERT_ROWS - len(rows)))]
    return rows
