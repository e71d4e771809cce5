"""Each user's channels, quiet hours, language and contact details; set by the user or by an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from workflow.accounts.contacts import contact_problems, normalize_email, normalize_mobile
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import is_sqlite, table_of
from workflow.core.errors import Forbidden, NotFound, Unprocessable
from workflow.core.models import NotificationPreference, Role, User
from workflow.notify.rules import LANGUAGES, PREFERENCE_FIELDS, Preferences, parse_clock, preferences_of

_prefs = table_of(NotificationPreference)
SWITCHES = ("deadline_email", "deadline_sms", "event_email", "event_sms")


def load(session: Session, user_id: int) -> tuple[User, Preferences]:
    """The user and their preferences (the defaults when they never saved any)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在。", "No such user.")
    return user, preferences_of(session, [user_id])[user_id]


def problems(values: dict[str, Any], *, email: str | None, mobile: str | None) -> list[dict[str, Any]]:
    """Why these preferences cannot be saved (empty when they can)."""
    found = contact_problems(email=email, mobile=mobile)
    if not (values["deadline_email"] or values["deadline_sms"]):
        found.append({"field": "deadline_sms", "zh": "期限提醒和逾期通知不能同时关闭短信和电子邮件",
                      "en": "deadline reminders need e-mail or SMS (or both)"})
    if values["deadline_sms"] and not (mobile or "").strip() and not any(p["field"] == "mobile" for p in found):
        found.append({"field": "mobile", "zh": "接收短信提醒须填写手机号码，或关闭短信提醒",
                      "en": "enter a mobile number, or turn SMS reminders off"})
    if values["deadline_email"] and not (email or "").strip() and not any(p["field"] == "email" for p in found):
        found.append({"field": "email", "zh": "接收邮件提醒须填写电子邮箱，或关闭邮件提醒",
                      "en": "enter an e-mail address, or turn e-mail reminders off"})
    for name in ("quiet_start", "quiet_end"):
        try:
            parse_clock(values[name])
        except ValueError:
            found.append({"field": name, "zh": "时间格式应为 HH:MM，如 22:00", "en": "time as HH:MM, e.g. 22:00"})
    if values["language"] not in LANGUAGES:
        found.append({"field": "language", "zh": "语言不正确", "en": "unknown language"})
    return found


def save(session: Session, *, user_id: int, actor: Actor, now: datetime, email: str | None, mobile: str | None,
         **values: Any) -> Preferences:
    """Save a user's preferences and contact details: one's own, or anyone's for an admin."""
    if actor.user_id != user_id and actor.role != Role.admin:
        raise Forbidden("只能修改自己的通知设置。", "You may change only your own notification settings.")
    user, before = load(session, user_id)
    merged = {name: values.get(name, getattr(before, name)) for name in PREFERENCE_FIELDS}
    for name in SWITCHES:
        merged[name] = bool(merged[name])
    merged["quiet_start"] = str(merged["quiet_start"]).strip()
    merged["quiet_end"] = str(merged["quiet_end"]).strip()
    found = problems(merged, email=email, mobile=mobile)
    if found:
        raise Unprocessable("；".join(p["zh"] for p in found), "; ".join(p["en"] for p in found), details=found)
    for name in ("quiet_start", "quiet_end"):
        merged[name] = parse_clock(merged[name]).strftime("%H:%M")
    new_email, new_mobile = normalize_email(email), normalize_mobile(mobile)
    changes = {k: [getattr(before, k), v] for k, v in merged.items() if getattr(before, k) != v}
    if (user.email, user.mobile) != (new_email, new_mobile):
        changes["contact"] = ["changed"]  # the trail says that, not the numbers themselves
    user.email, user.mobile = new_email, new_mobile
    session.add(user)
    row = {"user_id": user_id, **merged, "updated_at": now, "updated_by_id": actor.user_id}
    dialect = sqlite if is_sqlite(session) else postgresql
    statement = dialect.insert(_prefs).values(row)
    session.connection().execute(statement.on_conflict_do_update(
        index_elements=["user_id"], set_={k: statement.excluded[k] for k in row if k != "user_id"}))
    session.flush()
    audit.record(session, kind="notification_preferences_changed", now=now, actor=actor,
                 data={"user_id": user_id, "changes": changes})
    return Preferences(**merged)
