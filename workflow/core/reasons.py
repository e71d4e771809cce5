"""Small helpers the guard modules share."""

from __future__ import annotations

from datetime import date
from typing import Any


def reason(zh: str, en: str, field: str | None = None) -> dict[str, Any]:
    """One refusal reason in both languages, tied to a form field when there is one."""
    found: dict[str, Any] = {"zh": zh, "en": en}
    if field:
        found["field"] = field
    return found


def parse_date(value: Any) -> date | None:
    """A YYYY-MM-DD string as a date, or None when it is not one."""
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
