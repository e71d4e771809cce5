"""The city profile (definitions/profile.yaml): what makes this one city's system — its name, its plan, the texts of
its official documents, its 文号 series, its units, the leading group's seats and the eligibility thresholds it
sets differently from definitions/eligibility.yaml.

`profile()` is the profile in use: the shipped one unless `use_profile` chose another. A deployment keeps the
profile it was set up with in its database (`store`, by `zyz init --profile PATH`); the web application, the
scheduler and every command select it from there when they start (`select_stored`), so they all speak for the
same city."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core import audit
from workflow.core.db import table_of
from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.models import DefinitionSource
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

PROFILE_FILE = DEFINITIONS_DIR / "profile.yaml"
STORED_KEY = "profile"  # its key in definition_source, beside the process definitions
POSITIONS = ("leader", "deputy_leader", "member", "office_director", "office_deputy", "liaison")
# The texts every official document carries (definitions/documents.yaml's common fields).
DOCUMENT_TEXTS = ("issuing_body", "office", "salutation", "cc", "printed_by", "objection_contact")
NUMBERED_DOCUMENTS = ("designation_notice", "criticism_notice", "praise_notice", "rectification_notice")


class ProfileError(FileErrors):
    """The profile does not load; every problem as `file: key: problem`."""


@dataclass(frozen=True)
class RosterSeat:
    """A seat of the leading group, by position and post (never by person: a successor takes the seat)."""

    position: str
    title: str
    unit: str | None


@dataclass(frozen=True)
class MemberGroup:
    label: Label
    units: tuple[str, ...]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: caches of what is derived from it key on it
class Profile:
    source: str  # the file it was read from
    sha256: str  # of its text
    text: str
    city: str
    system_name: Label  # as people read it in messages, in Chinese and English
    plan_title: str
    plan_number: str
    documents: dict[str, str]  # DOCUMENT_TEXTS, and `plan` (《title》（number）)
    series: dict[str, str]  # document name -> 阳专镇〔{year}〕{n}号
    counties: tuple[str, ...]
    office: str
    leading_group: str
    member_units: tuple[str, ...]
    member_groups: tuple[MemberGroup, ...]
    roster: tuple[RosterSeat, ...]
    # eligibility threshold name -> value; the names are checked by workflow/designation/eligibility.py, which
    # knows the table (the core imports no process)
    thresholds: dict[str, Decimal] = field(default_factory=dict)

    @property
    def plan(self) -> str:
        """《title》（number）, as documents cite the plan."""
        return f"《{self.plan_title}》（{self.plan_number}）"

    def unit_names(self) -> tuple[str, ...]:
        """Every unit the profile names: counties, office, leading group, member units."""
        return (*self.counties, self.office, self.leading_group, *self.member_units)


def _text(check: Checker, raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        check.error(f"{where}.{key}", "must be a non-empty text")
        return ""
    return value.strip()


def _names(check: Checker, raw: Any, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x.strip() for x in raw):
        check.error(key, "must be a non-empty list of names")
        return ()
    names = tuple(x.strip() for x in raw)
    for name in {n for n in names if names.count(n) > 1}:
        check.error(key, f"names {name} twice")
    for name in names:
        if len(name) > 100:
            check.error(key, f"{name[:20]}…: a unit's name has at most 100 characters")
    return names


def _thresholds(check: Checker, raw: Any) -> dict[str, Decimal]:
    """The optional `thresholds:` mapping: name -> positive number."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        check.error("thresholds", "must be a mapping of eligibility threshold names to numbers")
        return {}
    found: dict[str, Decimal] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            check.error(f"thresholds.{name}", "a threshold's name must be an identifier")
            continue
        number = Decimal(str(value)) if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or not number.is_finite() or number <= 0:
            check.error(f"thresholds.{name}", f"must be a positive number, not {value!r}")
            continue
        found[name] = number
    return found


def _section(check: Checker, raw: dict, key: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict):
        check.error(key, "missing (must be a mapping)")
        return {}
    return value


def parse_profile(text: str, source: str) -> Profile:
    """The profile in `text` (read from `source`, a file name for the messages), checked; ProfileError lists every
    problem."""
    filename = Path(source).name
    raw = read_mapping(text, filename, ProfileError)
    check = Checker(filename)
    check.unknown_keys(raw, {"city", "plan", "documents", "series", "units", "roster", "thresholds"})
    city = _section(check, raw, "city")
    check.unknown_keys(city, {"name", "system"}, "city")
    plan = _section(check, raw, "plan")
    check.unknown_keys(plan, {"title", "number"}, "plan")
    docs = _section(check, raw, "documents")
    check.unknown_keys(docs, set(DOCUMENT_TEXTS), "documents")
    texts = {key: _text(check, docs, key, "documents") for key in DOCUMENT_TEXTS}
    series_raw = _section(check, raw, "series")
    check.unknown_keys(series_raw, set(NUMBERED_DOCUMENTS), "series")
    series: dict[str, str] = {}
    for name in NUMBERED_DOCUMENTS:
        value = _text(check, series_raw, name, "series")
        if value and "{n}" not in value:
            check.error(f"series.{name}", "must contain {n} (and usually {year})")
        elif value:
            try:
                value.format(year=2026, n=1)
            except (KeyError, IndexError, ValueError):
                check.error(f"series.{name}", "may use only {year} and {n}")
        series[name] = value
    units = _section(check, raw, "units")
    check.unknown_keys(units, {"counties", "office", "leading_group", "members", "member_groups"}, "units")
    counties = _names(check, units.get("counties"), "units.counties")
    members = _names(check, units.get("members"), "units.members")
    office = _text(check, units, "office", "units")
    group = _text(check, units, "leading_group", "units")
    everything = [*counties, office, group, *members]
    for name in {n for n in everything if n and everything.count(n) > 1}:
        check.error("units", f"{name} is named twice (a unit has one kind)")
    groups: list[MemberGroup] = []
    grouped: dict[str, int] = {}
    groups_raw = units.get("member_groups")
    if not isinstance(groups_raw, list):
        check.error("units.member_groups", "must be a list of {label, units}")
        groups_raw = []
    for i, entry in enumerate(groups_raw):
        key = f"units.member_groups[{i}]"
        if not isinstance(entry, dict):
            check.error(key, "must be a mapping of label and units")
            continue
        check.unknown_keys(entry, {"label", "units"}, key)
        names = _names(check, entry.get("units"), f"{key}.units")
        for name in names:
            if name not in members:
                check.error(f"{key}.units", f"{name} is not a member unit (units.members)")
            elif name in grouped:
                check.error(f"{key}.units", f"{name} is already in group {grouped[name]}")
            grouped.setdefault(name, i)
        groups.append(MemberGroup(check.label(entry.get("label"), f"{key}.label"), names))
    for name in members:
        if groups_raw and name not in grouped:
            check.error("units.member_groups", f"member unit {name} is in no group")
    roster: list[RosterSeat] = []
    roster_raw = raw.get("roster")
    if not isinstance(roster_raw, list) or not roster_raw:
        check.error("roster", "must be a non-empty list of seats")
        roster_raw = []
    known = set(everything)
    for i, seat in enumerate(roster_raw):
        key = f"roster[{i}]"
        if not isinstance(seat, dict):
            check.error(key, "must be a mapping of position, title and unit")
            continue
        check.unknown_keys(seat, {"position", "title", "unit"}, key)
        position = seat.get("position")
        if position not in POSITIONS:
            check.error(f"{key}.position", f"must be one of {', '.join(POSITIONS)}")
        title = _text(check, seat, "title", key)
        unit = seat.get("unit")
        if unit is not None and (not isinstance(unit, str) or unit not in known):
            check.error(f"{key}.unit", f"{unit} is not a unit of the profile")
        roster.append(RosterSeat(position=str(position), title=title, unit=unit))
    for position in ("leader", "office_director"):
        if roster_raw and sum(1 for s in roster if s.position == position) != 1:
            check.error("roster", f"must have exactly one {position} seat")
    plan_title, plan_number = _text(check, plan, "title", "plan"), _text(check, plan, "number", "plan")
    city_name, system_name = _text(check, city, "name", "city"), check.label(city.get("system"), "city.system")
    thresholds = _thresholds(check, raw.get("thresholds"))
    if check.errors:
        raise ProfileError(check.errors)
    return Profile(source=source, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), text=text,
                   city=city_name, system_name=system_name,
                   plan_title=plan_title, plan_number=plan_number,
                   documents={**texts, "plan": f"《{plan_title}》（{plan_number}）"}, series=series,
                   counties=counties, office=office, leading_group=group, member_units=members,
                   member_groups=tuple(groups), roster=tuple(roster), thresholds=thresholds)


def load_profile(path: Path | str = PROFILE_FILE) -> Profile:
    """Read and check the profile at `path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError([f"{path.name}: (file): cannot be read: {exc.strerror or exc}"]) from None
    return parse_profile(text, str(path))


_lock = threading.Lock()
_current: list[Profile] = []  # the profile in use, once chosen or first read
_default: list[Profile] = []


def default_profile() -> Profile:
    """The profile the repository ships (definitions/profile.yaml), read once."""
    with _lock:
        if not _default:
            _default.append(load_profile(PROFILE_FILE))
        return _default[0]


def profile() -> Profile:
    """The profile in use."""
    if _current:
        return _current[0]
    return default_profile()


def use_profile(chosen: Profile | Path | str | None) -> Profile:
    """Use `chosen` (a profile, or the path of one) from now on in this process; None: the shipped one."""
    if chosen is None:
        chosen = default_profile()
    elif not isinstance(chosen, Profile):
        chosen = load_profile(chosen)
    with _lock:
        _current[:] = [chosen]
    return chosen


def stored_text(conn: sa.Connection) -> tuple[str, str] | None:
    """(text, source) of the profile the database was set up with, or None (the shipped one)."""
    table = table_of(DefinitionSource)
    row = conn.execute(
        sa.select(table.c.source, table.c.sha256).where(table.c.key == STORED_KEY)
        .order_by(table.c.version.desc()).limit(1)).first()
    return None if row is None else (str(row[0]), "profile.yaml (stored)")


def select_stored(engine: sa.Engine) -> Profile:
    """Use the profile stored in the database of `engine` (the shipped one when none is, or the database is not
    there yet: the command or page that needs it says so, not this)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not url.database.startswith("file:") and not Path(url.database).exists():
        return use_profile(None)  # looked for without creating the file
    try:
        with engine.connect() as conn:
            found = stored_text(conn) if sa.inspect(conn).has_table(table_of(DefinitionSource).name) else None
    except sa.exc.OperationalError:
        found = None
    return use_profile(None if found is None else parse_profile(found[0], found[1]))


def store(session: Session, chosen: Profile, now: datetime) -> bool:
    """Keep `chosen` as the database's profile (a new version when it differs from the stored one); audited.
    False when it was stored already."""
    table = table_of(DefinitionSource)
    conn = session.connection()
    latest = conn.execute(sa.select(table.c.version, table.c.sha256).where(table.c.key == STORED_KEY)
                          .order_by(table.c.version.desc()).limit(1)).first()
    if latest is not None and latest[1] == chosen.sha256:
        return False
    version = 1 if latest is None else int(latest[0]) + 1
    conn.execute(sa.insert(table).values(key=STORED_KEY, version=version, sha256=chosen.sha256, source=chosen.text,
                                         loaded_at=now))
    audit.record(session, kind="admin_change", now=now,
                 data={"action": "profile_stored", "city": chosen.city, "version": version, "sha256": chosen.sha256,
                       "file": chosen.source})
    return True
