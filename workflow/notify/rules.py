"""Notifications: who is told, one in-app row per recipient per cause, and the outbox rows the rules ask for.

The rules are data (definitions/notifications.yaml). Everything here runs inside the transaction of the
cause — a transition (an AFTER_FIRE hook), a new case (an AFTER_CREATE hook, once its create actions are done),
a reminder or expiry of the deadline sweep (`notify`) — so a cause that rolls back leaves neither notification
nor outbox row behind. An outbox row holds the event, the recipient, the channel and the parameters; composing and
sending it is the business of `notifications/`, which reads this layer and is never imported by it.

The package registers the hooks when the application starts (workflow.notify.register).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from workflow.core import engine
from workflow.core.calendar import LOCAL_TZ, to_local
from workflow.core.catalog import CATALOG, Catalog
from workflow.core.db import Prepared, is_sqlite, table_of
from workflow.core.definitions import DEFINITIONS_DIR, Definition, Label
from workflow.core.models import (
    Case,
    CaseParty,
    Deadline,
    Notification,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
    Role,
    Seat,
    User,
)
from workflow.core.reasons import parse_whole
from workflow.core.registry import GUARDS, load_rules
from workflow.core.yamlcheck import Checker, FileErrors, read_mapping

_table = table_of(Notification)
_outbox = table_of(OutboxMessage)
_prefs = table_of(NotificationPreference)
_users = table_of(User)
_parties = table_of(CaseParty)
_deadlines = table_of(Deadline)
_cases = table_of(Case)
_seats = table_of(Seat)

RULES_PATH = DEFINITIONS_DIR / "notifications.yaml"
CHANNELS = ("in_app", "email", "sms")
EVENTS = ("enter", "trigger", "reminder", "expiry", "chase")
# county: the case's county; member_units: every unit chosen for the case; pending_units: those not answered.
RECIPIENTS = ("county", "office", "leader", "member_units", "pending_units")
# Not a process: the notices a county acknowledges (签收, workflow.core.receipts). Rules with `process: receipt`
# have one event, {reminder: acknowledge}: a notice still unacknowledged when its working days are over; `county`
# is the county the notice is addressed to.
RECEIPT = "receipt"
RECEIPT_EVENTS = (("reminder", "acknowledge"),)
RECEIPT_RECIPIENTS = ("county", "office", "leader")
LANGUAGES = ("zh", "en")


# --- recipients ------------------------------------------------------------------------------------------------


_RECIPIENT_QUERIES: dict[tuple[tuple[str, ...], bool], Prepared] = {}  # built once per selectors


def _seat_holders(role: str, *units: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """The users who hold an active seat of the roster acting as `role` (for one of `units` where given): a deputy
    director of the office from 市农业农村局 is told what the office is told (workflow.accounts.seats)."""
    held = sa.select(_seats.c.holder_id).where(_seats.c.role == role, _seats.c.is_active.is_(True),
                                                _seats.c.holder_id.is_not(None), *units)
    return _users.c.id.in_(held)


def _recipient_query(selectors: tuple[str, ...], contacts: bool) -> sa.Select[Any]:
    clauses = []
    users = _users.c
    for who in selectors:
        if who == "county":
            clauses.append(sa.and_(users.role == Role.county.value, users.unit_id == sa.bindparam("b_county")))
            clauses.append(_seat_holders(Role.county.value, _seats.c.acting_unit_id == sa.bindparam("b_county")))
        elif who in ("office", "leader"):
            clauses.append(users.role == who)
            clauses.append(_seat_holders(who))
        elif who in ("pending_units", "member_units"):
            chosen = sa.select(_parties.c.unit_id).where(_parties.c.case_id == sa.bindparam("b_case"))
            if who == "pending_units":
                chosen = chosen.where(_parties.c.responded_at.is_(None))
            clauses.append(sa.and_(users.role == Role.member.value, users.unit_id.in_(chosen)))
            clauses.append(_seat_holders(Role.member.value, _seats.c.acting_unit_id.in_(chosen)))
        else:
            raise ValueError(f"unknown recipients {who!r}")
    if contacts:  # with each user's addresses and saved preferences (NULL where never saved)
        query = (sa.select(users.id, users.email, users.mobile, *(_prefs.c[k] for k in PREFERENCE_FIELDS))
                 .select_from(_users.outerjoin(_prefs, _prefs.c.user_id == users.id)))
    else:
        query = sa.select(users.id)
    return query.where(users.is_active.is_(True), sa.or_(*clauses)).order_by(users.id)


def _recipient_rows(conn: sa.Connection, case_id: int | None, county_id: int | None, selectors: Iterable[str],
                    *, contacts: bool = False) -> list[tuple[Any, ...]]:
    """(id,) per user, or (id, email, mobile, *PREFERENCE_FIELDS) with `contacts`."""
    key = (tuple(selectors), contacts)
    if not key[0]:
        return []
    query = _RECIPIENT_QUERIES.get(key)
    if query is None:
        query = _RECIPIENT_QUERIES[key] = Prepared(_recipient_query(*key))
    return query.fetch(conn, {"b_case": case_id, "b_county": county_id})


def recipient_ids(conn: sa.Connection, case_id: int | None, county_id: int | None,
                  selectors: Iterable[str]) -> list[int]:
    """Active users named by selectors, for a case given by its id and county."""
    return [int(row[0]) for row in _recipient_rows(conn, case_id, county_id, selectors)]


def recipients(session: Session, case: Case, selectors: Iterable[str]) -> list[int]:
    """Active users named by selectors: county (the case's county), office, leader, member_units, pending_units."""
    return recipient_ids(session.connection(), case.id, case.county_id, selectors)


def recipients_by_role(session: Session, role: str) -> list[int]:
    """Every active user of a role, by account or by a seat they hold."""
    query = (sa.select(_users.c.id).where(_users.c.is_active.is_(True),
                                          sa.or_(_users.c.role == role, _seat_holders(role)))
             .order_by(_users.c.id))
    return [int(i) for i in session.connection().execute(query).scalars()]


# --- the rules -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    label: Label
    process: str
    on: str  # enter | trigger | reminder | expiry | chase (the office reminds by hand: workflow/notify/chase.py)
    target: str  # the state, trigger or deadline
    offsets: frozenset[int] | None  # reminders only; None: every offset
    recipients: tuple[str, ...]
    channels: tuple[str, ...]
    template: str
    order: int
    condition: str | None = None  # a guard (workflow.core.registry) that must pass after the transition

    @property
    def category(self) -> str:
        """deadline for reminders and expiries (e-mail and SMS may not both be off), event otherwise."""
        return "deadline" if self.on in ("reminder", "expiry", "chase") else "event"


@dataclass(frozen=True)
class TemplateSpec:
    label: Label
    sms_params: tuple[str, ...]  # what a provider's SMS template receives, in this order


class RuleError(FileErrors):
    """Problems in the notification rules; `errors` holds `file: key: problem` lines."""


@dataclass
class RuleSet:
    rules: list[Rule]
    templates: dict[str, TemplateSpec]

    def __post_init__(self) -> None:
        self._index: dict[tuple[str, str, str], list[Rule]] = {}
        for rule in self.rules:
            self._index.setdefault((rule.process, rule.on, rule.target), []).append(rule)
        self.processes = {rule.process for rule in self.rules}

    def matching(self, process: str, on: str, target: str, offset: int | None = None) -> list[Rule]:
        """The rules for one event, in file order."""
        found = self._index.get((process, on, target), [])
        return [r for r in found if r.offsets is None or offset in r.offsets]

    def by_name(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


def parse_rules(text: str, filename: str = "notifications.yaml", catalog: Catalog = CATALOG) -> RuleSet:
    """Parse and check the rules against the current process definitions; RuleError lists every problem."""
    check = Checker(filename)
    errors, error = check.errors, check.error

    def label(raw: Any, key: str) -> Label:
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) and raw[k].strip() for k in LANGUAGES):
            error(f"{key}.label", "missing label (needs zh and en)")
            return Label("", "")
        return Label(raw["zh"], raw["en"])

    raw = read_mapping(text, filename, RuleError)
    check.unknown_keys(raw, {"version", "templates", "rules"})
    templates: dict[str, TemplateSpec] = {}
    for name, spec in (raw.get("templates") or {}).items():
        where = f"templates.{name}"
        if not isinstance(spec, dict):
            error(where, "must be a mapping")
            continue
        for key in spec:
            if key not in ("label", "sms_params"):
                error(f"{where}.{key}", "unknown key")
        params = spec.get("sms_params") or []
        if not isinstance(params, list) or not all(isinstance(p, str) and p.isidentifier() for p in params):
            error(f"{where}.sms_params", "must be a list of parameter names")
            params = []
        templates[name] = TemplateSpec(label(spec.get("label"), where), tuple(params))
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, spec in enumerate(raw.get("rules") or []):
        if not isinstance(spec, dict):
            error(f"rules[{i}]", "must be a mapping")
            continue
        name = spec.get("name")
        where = f"rules[{i}] ({name})"
        for key in spec:
            if key not in ("name", "label", "process", "when", "recipients", "channels", "template"):
                error(f"{where}.{key}", "unknown key")
        if not isinstance(name, str) or not name.isidentifier():
            error(f"{where}.name", "must be an identifier")
            name = str(name)
        elif name in seen:
            error(f"{where}.name", "used twice")
        seen.add(name)
        receipt = spec.get("process") == RECEIPT
        definition = _definition(catalog, spec.get("process"))
        if definition is None and not receipt:
            error(f"{where}.process", f"unknown process {spec.get('process')!r}")
        on, target, offsets, condition = _event(spec.get("when"), definition, f"{where}.when", error)
        if receipt and ((on, target) not in RECEIPT_EVENTS or offsets is not None):
            error(f"{where}.when", "a receipt rule is {reminder: acknowledge}")
        who = spec.get("recipients")
        allowed = RECEIPT_RECIPIENTS if receipt else RECIPIENTS
        if not isinstance(who, list) or not who or any(w not in allowed for w in who):
            error(f"{where}.recipients", f"must be a list of {', '.join(allowed)}")
            who = []
        channels = spec.get("channels")
        if not isinstance(channels, list) or not channels or any(c not in CHANNELS for c in channels):
            error(f"{where}.channels", f"must be a list of {', '.join(CHANNELS)}")
            channels = []
        template = spec.get("template")
        if template not in templates:
            error(f"{where}.template", f"unknown template {template!r} (declare it under templates)")
        rules.append(Rule(name=name, label=label(spec.get("label"), where), process=str(spec.get("process")),
                          on=on, target=target, offsets=offsets, recipients=tuple(who),
                          channels=tuple(channels), template=str(template), order=i, condition=condition))
    if errors:
        raise RuleError(errors)
    return RuleSet(rules, templates)


def _definition(catalog: Catalog, key: Any) -> Definition | None:
    if not isinstance(key, str) or key not in catalog.keys():
        return None
    return catalog.current(key)


def _event(raw: Any, definition: Definition | None, where: str,
           error: Any) -> tuple[str, str, frozenset[int] | None, str | None]:
    if not isinstance(raw, dict) or len([k for k in raw if k in EVENTS]) != 1:
        error(where, f"must name exactly one of {', '.join(EVENTS)}")
        return "", "", None, None
    on = next(k for k in raw if k in EVENTS)
    target = raw[on]
    for key in raw:
        if key not in (on, "offsets", "if") or (key == "offsets" and on != "reminder") or (
                key == "if" and on not in ("enter", "trigger")):
            error(f"{where}.{key}", "unknown key")
    condition = raw.get("if") if on in ("enter", "trigger") else None
    if condition is not None:
        load_rules()
        if not isinstance(condition, str) or condition not in GUARDS:
            error(f"{where}.if", f"unknown guard {condition!r}")
            condition = None
    offsets = None
    if "offsets" in raw:
        values = raw["offsets"]
        if not isinstance(values, list) or not all(isinstance(v, int) and v >= 0 for v in values):
            error(f"{where}.offsets", "must be a list of working-day offsets")
        else:
            offsets = frozenset(values)
    if definition is None:
        return on, str(target), offsets, condition
    if on == "enter" and target not in definition.states:
        error(f"{where}.enter", f"unknown state {target!r}")
    elif on == "trigger" and not definition.has_trigger(str(target)):
        error(f"{where}.trigger", f"unknown trigger {target!r}")
    elif on in ("reminder", "expiry", "chase"):
        deadlines = [d for s in definition.states.values() for d in s.deadlines if d.name == target]
        if not deadlines:
            error(f"{where}.{on}", f"unknown deadline {target!r}")
        elif offsets is not None:
            known = {r for d in deadlines for r in d.reminders}
            for offset in sorted(offsets - known):
                error(f"{where}.offsets", f"deadline {target!r} has no reminder {offset} working days before")
    return on, str(target), offsets, condition


class _Loaded:
    """The rules file, read once per process (tests may swap it with `use_rules`)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._rules: RuleSet | None = None

    def get(self) -> RuleSet:
        if self._rules is None:
            with self._lock:
                if self._rules is None:
                    self._rules = parse_rules(self.path.read_text(encoding="utf-8"), self.path.name)
        return self._rules

    def use(self, rules: RuleSet | None) -> None:
        self._rules = rules


_RULES = _Loaded(RULES_PATH)


def rules() -> RuleSet:
    """The notification rules of definitions/notifications.yaml."""
    return _RULES.get()


def use_rules(ruleset: RuleSet | None) -> None:
    """Replace the rules in this process (None: read the file again)."""
    _RULES.use(ruleset)


# --- preferences and quiet hours -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    deadline_email: bool = True
    deadline_sms: bool = True
    event_email: bool = True
    event_sms: bool = True
    quiet_start: str = "22:00"
    quiet_end: str = "07:00"
    language: str = "zh"

    def wants(self, channel: str, category: str) -> bool:
        """Whether this user takes `channel` for a message of `category` (in-app always)."""
        if channel == "in_app":
            return True
        return bool(getattr(self, f"{category}_{channel}"))


DEFAULT_PREFERENCES = Preferences()
PREFERENCE_FIELDS = tuple(Preferences.__dataclass_fields__)

def preferences_of(conn: sa.Connection | Session, user_ids: Sequence[int]) -> dict[int, Preferences]:
    """Every user's preferences (the defaults for users who never saved any)."""
    if isinstance(conn, Session):
        conn = conn.connection()
    found = {uid: DEFAULT_PREFERENCES for uid in user_ids}
    if user_ids:
        rows = conn.execute(sa.select(_prefs).where(_prefs.c.user_id.in_(list(user_ids)))).mappings()
        for row in rows:
            found[row["user_id"]] = Preferences(**{k: row[k] for k in PREFERENCE_FIELDS})
    return found


def parse_clock(text: str) -> time:
    """HH:MM (00:00 to 23:59) as a time; ValueError naming the text otherwise."""
    hours, _, minutes = (text or "").strip().partition(":")
    hour, minute = parse_whole(hours, low=0, high=23), parse_whole(minutes, low=0, high=59)
    if hour is None or minute is None or len(minutes) != 2:
        raise ValueError(text)
    return time(hour, minute)


def quiet_until(now: datetime, start: str, end: str) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when `now` is not within them."""
    begin, finish = parse_clock(start), parse_clock(end)
    if begin == finish:
        return None
    local = to_local(now)
    moment = local.time()
    inside = begin <= moment < finish if begin < finish else (moment >= begin or moment < finish)
    if not inside:
        return None
    day = local.date() if moment < finish else local.date() + timedelta(days=1)
    return datetime.combine(day, finish, tzinfo=LOCAL_TZ).astimezone(now.tzinfo)


# --- writing notifications and outbox rows ---------------------------------------------------------------------


_INSERTS: dict[tuple[bool, str], Prepared] = {}


def _insert_ignoring_duplicates(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], key: str) -> int:
    """INSERT … ON CONFLICT DO NOTHING of `rows`, the statement built once per dialect and table; the number
    of rows written."""
    if not rows:
        return 0
    on_sqlite = is_sqlite(conn)
    statement = _INSERTS.get((on_sqlite, table.name))
    if statement is None:
        dialect = sqlite if on_sqlite else postgresql
        statement = Prepared(dialect.insert(table).on_conflict_do_nothing(index_elements=[key]))
        _INSERTS[(on_sqlite, table.name)] = statement
    written = statement.execute_many(conn, rows)
    return len(rows) if written < 0 else written


def _in_app(conn: sa.Connection, user_ids: Iterable[int], *, case_id: int | None, kind: str,
            params: dict[str, Any], source: str, now: datetime) -> int:
    rows = [{"user_id": uid, "case_id": case_id, "kind": kind, "params": params,
             "source_key": f"{source}:u{uid}", "created_at": now} for uid in user_ids]
    return _insert_ignoring_duplicates(conn, _table, rows, "source_key")


def notify(session: Session, *, user_ids: Iterable[int], case_id: int | None, kind: str, params: dict[str, Any],
           source: str, now: datetime, deadline: Any = None, county_id: int | None = None) -> int:
    """Write one notification per user for `source` (a cause already notified to a user is skipped), and
    what the rules for that cause add: more recipients, e-mail and SMS in the outbox.

    `deadline`: for a `deadline:<id>` source, that deadline row with its case's definition_key and
    county_id when the caller has it already (the sweep's claimed row); otherwise it is read.
    A `receipt:<id>` source is the reminder of a notice `county_id` has not acknowledged (the `receipt` rules).
    """
    conn = session.connection()
    count = _in_app(conn, user_ids, case_id=case_id, kind=kind, params=params, source=source, now=now)
    if source.startswith("receipt:"):
        matched = rules().matching(RECEIPT, "reminder", "acknowledge")
        count += apply_rules(conn, matched, case_id=case_id, county_id=county_id, kind=kind, params=params,
                             source=source, now=now)
    elif case_id is not None and source.startswith("deadline:"):
        event = _deadline_event(conn, int(source.split(":", 1)[1]), deadline)
        if event is not None:
            process, on, target, offset, county_id = event
            matched = rules().matching(process, on, target, offset)  # none for a process without rules
            count += apply_rules(conn, matched, case_id=case_id, county_id=county_id, kind=kind, params=params,
                                 source=source, now=now)
    return count


_DEADLINE_EVENT = Prepared(
    sa.select(_deadlines.c.kind, _deadlines.c.name, _deadlines.c.offset_days, _cases.c.definition_key,
              _cases.c.county_id)
    .join(_cases, _cases.c.id == _deadlines.c.case_id).where(_deadlines.c.id == sa.bindparam("b_id")))


def _deadline_event(conn: sa.Connection, deadline_id: int,
                    row: Any = None) -> tuple[str, str, str, int | None, int] | None:
    if row is not None and row.id == deadline_id:
        kind, name, offset, process, county_id = (row.kind, row.name, row.offset_days, row.definition_key,
                                                  row.county_id)
    else:
        found = _DEADLINE_EVENT.fetch(conn, {"b_id": deadline_id})
        if not found:
            return None
        kind, name, offset, process, county_id = found[0]
    on = "reminder" if kind == "reminder" else "expiry"
    return process, on, name, offset if on == "reminder" else None, county_id


def apply_rules(conn: sa.Connection, matched: Sequence[Rule], *, case_id: int | None, county_id: int | None, kind: str,
                params: dict[str, Any], source: str, now: datetime) -> int:
    """In-app rows and outbox rows for the rules that matched one cause; returns the in-app rows written.

    One message per cause, recipient and channel: the first rule (in file order) that names them wins.
    """
    if not matched:
        return 0
    chosen: dict[tuple[int, str], Rule] = {}
    prefs: dict[int, Preferences] = {}
    reachable: set[tuple[int, str]] = set()
    # Recipients come with their addresses and preferences when a rule sends more than in-app messages:
    # one query per rule. A channel the user has no address for is left out (the in-app notification
    # still goes); the preferences page insists on an address for each channel chosen for reminders.
    contacts = any(channel != "in_app" for rule in matched for channel in rule.channels)
    for rule in sorted(matched, key=lambda r: r.order):
        for row in _recipient_rows(conn, case_id, county_id, rule.recipients, contacts=contacts):
            uid = int(row[0])
            for channel in rule.channels:
                chosen.setdefault((uid, channel), rule)
            if contacts and uid not in prefs:
                _, email, mobile, *saved = row
                prefs[uid] = DEFAULT_PREFERENCES if saved[0] is None else Preferences(
                    **dict(zip(PREFERENCE_FIELDS, saved, strict=True)))
                reachable |= {(uid, "email")} if email else set()
                reachable |= {(uid, "sms")} if mobile else set()
    in_app: dict[str, tuple[Rule, list[int]]] = {}  # by rule: an event's in-app text is rendered from its template
    outbox: list[dict[str, Any]] = []
    for (uid, channel), rule in chosen.items():
        if channel == "in_app":
            in_app.setdefault(rule.name, (rule, []))[1].append(uid)
            continue
        pref = prefs.get(uid, DEFAULT_PREFERENCES)
        if (uid, channel) not in reachable or not pref.wants(channel, rule.category):
            continue
        due = (quiet_until(now, pref.quiet_start, pref.quiet_end) if channel == "sms" else None) or now
        outbox.append({"idempotency_key": f"{source}:u{uid}:{channel}", "source": source, "rule": rule.name,
                       "template": rule.template, "category": rule.category, "channel": channel, "user_id": uid,
                       "case_id": case_id, "params": _rule_params(rule, params), "status": OutboxStatus.queued.value,
                       "attempts": 0, "retries": 0, "next_attempt_at": due, "created_at": now})
    written = 0
    for rule, users in in_app.values():
        shown = _rule_params(rule, params)
        shown = {**shown, "template": rule.template} if kind == "event" else shown
        written += _in_app(conn, users, case_id=case_id, kind=kind, params=shown, source=source, now=now)
    _insert_ignoring_duplicates(conn, _outbox, outbox, "idempotency_key")
    return written


def _rule_params(rule: Rule, params: dict[str, Any]) -> dict[str, Any]:
    """A conditioned rule names what happened (its label, e.g. 会审意见已全部提交) as the step."""
    if rule.condition is None:
        return params
    return {**params, "step": rule.label.zh, "step_en": rule.label.en}


# --- transitions and new cases ---------------------------------------------------------------------------------


_DUE_DATE = sa.select(sa.func.min(_deadlines.c.due_date)).where(
    _deadlines.c.case_id == sa.bindparam("b_case"), _deadlines.c.state == sa.bindparam("b_state"),
    _deadlines.c.kind == "expiry", _deadlines.c.status == "open")


def case_params(conn: sa.Connection, definition: Definition, case: Case, data: dict[str, Any], *,
                trigger: str | None = None, from_state: str | None = None, comment: str | None = None,
                planned: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the templates of a case event get: number, title, process, state, step, comment, deadline.

    `planned`: the deadline rows the transition has just opened in the case's state, when it moved
    there (they are that state's open rows, so the earliest expiry is read from them, not queried).
    """
    params: dict[str, Any] = {
        "number": case.number, "title": case.title,
        "process": definition.label.zh, "process_en": definition.label.en,
        "state": definition.state_label(case.state), "state_en": definition.state_label(case.state, "en"),
    }
    if trigger:
        params.update(step=definition.trigger_label(trigger), step_en=definition.trigger_label(trigger, "en"))
    else:
        params.update(step="新建", step_en="created")
    if from_state:
        params.update(from_state=definition.state_label(from_state),
                      from_state_en=definition.state_label(from_state, "en"))
    if comment:
        params["comment"] = comment[:300]
    state = definition.states.get(case.state)
    for spec in state.deadlines if state else ():
        due = data.get(spec.field) if spec.field else None
        if not due and planned is not None:
            due = min((row["due_date"] for row in planned if row["kind"] == "expiry"), default=None)
        elif not due and case.id is not None:
            due = conn.execute(_DUE_DATE, {"b_case": case.id, "b_state": case.state}).scalar()
        if due:
            params.update(due_date=str(due), deadline=spec.label.zh, deadline_en=spec.label.en)
            break
    return params


def _after_fire(ctx: engine.FireContext, from_state: str) -> None:
    ruleset = rules()
    key = ctx.definition.key
    if key not in ruleset.processes:
        return
    case = ctx.case
    matched = ruleset.matching(key, "trigger", ctx.spec.trigger)
    if ctx.spec.moves and case.state != from_state:
        matched = ruleset.matching(key, "enter", case.state) + matched
    # A rule with a condition speaks only when its guard passes on the case as the transition left it.
    matched = [r for r in matched if r.condition is None or not GUARDS[r.condition](ctx)]
    if not matched:
        return
    conn = ctx.session.connection()
    params = case_params(conn, ctx.definition, case, ctx.data, trigger=ctx.spec.trigger, from_state=from_state,
                         comment=ctx.comment, planned=ctx.planned)
    apply_rules(conn, matched, case_id=case.id, county_id=case.county_id, kind="event",
                params=params, source=ctx.cause or f"case:{case.id}:v{case.version}", now=ctx.now)


def _case_created(ctx: engine.FireContext) -> None:
    """A new case enters its initial state: the `enter` rules of that state apply, once its create actions are done
    (the units they bring in are told) and a rule's condition, if any, passes on the new case."""
    ruleset = rules()
    case = ctx.case
    if case.definition_key not in ruleset.processes:
        return
    matched = [r for r in ruleset.matching(case.definition_key, "enter", case.state)
               if r.condition is None or not GUARDS[r.condition](ctx)]
    if not matched:
        return
    conn = ctx.session.connection()
    params = case_params(conn, ctx.definition, case, ctx.data, planned=ctx.planned)
    apply_rules(conn, matched, case_id=case.id, county_id=case.county_id, kind="event",
                params=params, source=f"case:{case.id}:v{case.version}", now=case.created_at)


def install() -> None:
    """Plug the rules into the engine: its transitions and its new cases (idempotent)."""
    if _after_fire not in engine.AFTER_FIRE:
        engine.AFTER_FIRE.append(_after_fire)
    if _case_created not in engine.AFTER_CREATE:
        engine.AFTER_CREATE.append(_case_created)


# --- the notification centre -----------------------------------------------------------------------------------


def unread_count(session: Session, user_id: int) -> int:
    return int(session.exec(select(sa.func.count()).select_from(_table).where(
        _table.c.user_id == user_id, _table.c.read_at.is_(None))).one())


def mark_read(session: Session, *, user_id: int, now: datetime, notification_id: int | None = None) -> int:
    """Mark one (or every) notification of the user read; another user's id changes nothing."""
    query = _table.update().where(_table.c.user_id == user_id, _table.c.read_at.is_(None))
    if notification_id is not None:
        query = query.where(_table.c.id == notification_id)
    return int(session.connection().execute(query.values(read_at=now)).rowcount or 0)
