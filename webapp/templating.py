"""Jinja filters and globals: local times, labels of states, triggers and roles in the chosen language."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Flask, request, url_for
from flask_babel import get_locale

from webapp.database import Clock, demo_offset
from workflow.core.calendar import TIME_FORMAT, shown_time
from workflow.core.catalog import CATALOG
from workflow.core.labels import field_label, value_label
from workflow.core.models import ROLE_LABELS, Case, Role


def lang() -> str:
    return "en" if str(get_locale() or "zh_CN").startswith("en") else "zh"


def localtime(value: datetime | str | None, fmt: str = TIME_FORMAT) -> str:
    """The `localtime` filter: Beijing time, from workflow.core.calendar.shown_time like every other time shown;
    nothing for a value that is missing (an opinion recorded without its time reads as a blank, not an error)."""
    if not value:
        return ""
    return shown_time(value, fmt)


def case_state(case: Case) -> str:
    return CATALOG.get(case.definition_key, case.definition_version).state_label(case.state, lang())


def definition_label(key: str) -> str:
    return CATALOG.current(key).label.get(lang())


def trigger_label(case: Case, trigger: str | None) -> str:
    if not trigger:
        return ""
    return CATALOG.get(case.definition_key, case.definition_version).trigger_label(trigger, lang())


def state_label(case: Case, state: str | None) -> str:
    if not state:
        return ""
    return CATALOG.get(case.definition_key, case.definition_version).state_label(state, lang())


def role_label(role: str | None) -> str:
    if not role or role not in Role.__members__:
        return role or ""
    zh, en = ROLE_LABELS[Role(role)]
    return en if lang() == "en" else zh


def pretty(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return "" if value is None else str(value)


def data_field(key: str) -> str:
    """A case field's name as a person reads it (the key itself when nobody gave it a label)."""
    return field_label(key, lang())


def data_value(key: str, value: Any) -> str:
    """A case field's value: a coded or plain value by its label, a nested one as indented JSON."""
    return pretty(value) if isinstance(value, dict | list) else value_label(key, value, lang())


def event_data(value: str | None) -> dict[str, Any]:
    """The data of an audit event (stored as canonical JSON text)."""
    try:
        found = json.loads(value or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def page_url(page: int) -> str:
    args = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
    return url_for(request.endpoint or "cases.inbox", **args)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(localtime=localtime, case_state=case_state, role_label=role_label, pretty=pretty,
                                 event_data=event_data)
    app.jinja_env.globals.update(lang=lang, definition_label=definition_label, trigger_label=trigger_label,
                                 state_label=state_label, page_url=page_url, catalog=CATALOG, data_field=data_field,
                                 data_value=data_value)

    @app.context_processor
    def demo_clock() -> dict[str, Any]:
        """The demo clock's time on every page while it is set, so that nobody takes it for today."""
        offset = demo_offset()
        return {"demo_clock": localtime(Clock.real() + offset) if offset else None}
