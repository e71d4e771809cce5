"""Who sees what within a case, as definitions/visibility.yaml declares it: the one place that turns a case into
what a user may read of it (its data, its timeline, its attachments by kind).

`workflow.core.access` decides whether a user sees a case at all; this module decides which parts of it. The web
pages and the API read a case through `readable_case`, its events through `visible_events` and its attachments
through `may_see_kind`, so that a page cannot show what the API hides or the other way round. The security
auditor reads the audit trail through `redacted_for_auditor`: who did what when, without the values of the
confidential field groups nor of the keys the file declares `personal`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core import datakeys
from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.db import table_of
from workflow.core.models import AuditEvent, Case, Role
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

VISIBILITY_PATH = Path(__file__).resolve().parents[2] / "definitions" / "visibility.yaml"
TOP_KEYS = {"key", "version", "label", "processes", "personal"}
PROCESS_KEYS = {"fields", "events", "attachments"}
GROUP_KEYS = {"label", "keys", "visible_to", "own_to", "in_states", "others_see"}
ATTACHMENT_KEYS = {"visible_to", "in_states"}
ROLES = {r.value for r in Role if r != Role.system}
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")  # a key of a case's data or of an event's data

# A summary that those who do not see a group get instead: computed from the case's full data, kept under its
# own name in the data they read (e.g. "expert_average"). Registered by the process that owns the data.
SummaryFn = Callable[[dict[str, Any]], Any]
SUMMARIES: dict[str, SummaryFn] = {}
HIDDEN_NAME = "—"  # who did a step one may not know of


def summary(name: str) -> Callable[[SummaryFn], SummaryFn]:
    """Register a summary under `name` for `others_see` in definitions/visibility.yaml."""

    def register(fn: SummaryFn) -> SummaryFn:
        if name in SUMMARIES and SUMMARIES[name] is not fn:
            raise ValueError(f"summary {name!r} registered twice")
        SUMMARIES[name] = fn
        return fn

    return register


class VisibilityError(FileErrors):
    """Problems in definitions/visibility.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Rule:
    """Who sees a group of fields or a kind of attachment."""

    visible_to: frozenset[str]
    in_states: dict[str, frozenset[str]] = field(default_factory=dict)
    own_to: frozenset[str] = frozenset()

    def sees_all(self, role: str, state: str) -> bool:
        return role == Role.system or role in self.visible_to or state in self.in_states.get(role, ())


@dataclass(frozen=True)
class FieldGroup:
    name: str
    label: Label
    keys: tuple[str, ...]
    rule: Rule
    others_see: str | None


@dataclass(frozen=True)
class ProcessVisibility:
    groups: dict[str, FieldGroup]
    events: dict[str, str]  # trigger -> group
    attachments: dict[str, Rule]  # kind -> rule


@dataclass(frozen=True)
class Visibility:
    version: int
    processes: dict[str, ProcessVisibility]
    personal: frozenset[str] = frozenset()  # keys holding personal data: withheld from the auditor, sealed in case data

    def of(self, definition_key: str) -> ProcessVisibility:
        return self.processes.get(definition_key) or ProcessVisibility({}, {}, {})


def parse_visibility(text: str, filename: str, states: dict[str, set[str]]) -> Visibility:
    """Parse and check the file; `states` names each process's states (the current definitions). Raise
    VisibilityError listing every problem."""
    check = Checker(filename)
    raw = read_mapping(text, filename, VisibilityError)
    check.unknown_keys(raw, TOP_KEYS)
    if raw.get("key") != "visibility":
        check.error("key", "must be 'visibility'")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        check.error("version", "must be a positive integer")
    check.label(raw.get("label"), "label")
    processes: dict[str, ProcessVisibility] = {}
    raw_processes = raw.get("processes")
    if not isinstance(raw_processes, dict) or not raw_processes:
        check.error("processes", "must be a non-empty mapping")
        raw_processes = {}
    for process, body in raw_processes.items():
        pkey = f"processes.{process}"
        if process not in states:
            check.error(pkey, f"unknown process {process!r}")
            continue
        if not isinstance(body, dict):
            check.error(pkey, "must be a mapping")
            continue
        check.unknown_keys(body, PROCESS_KEYS, pkey)
        groups = _groups(check, body.get("fields") or {}, f"{pkey}.fields", states[process])
        events: dict[str, str] = {}
        raw_events = body.get("events") or {}
        if not isinstance(raw_events, dict):
            check.error(f"{pkey}.events", "must be a mapping of trigger to field group")
            raw_events = {}
        for trigger, group in raw_events.items():
            if group not in groups:
                check.error(f"{pkey}.events.{trigger}", f"unknown field group {group!r}")
            events[str(trigger)] = str(group)
        attachments: dict[str, Rule] = {}
        raw_attachments = body.get("attachments") or {}
        if not isinstance(raw_attachments, dict):
            check.error(f"{pkey}.attachments", "must be a mapping of attachment kind to who sees it")
            raw_attachments = {}
        for kind, spec in raw_attachments.items():
            akey = f"{pkey}.attachments.{kind}"
            if isinstance(spec, list):
                spec = {"visible_to": spec}
            if not isinstance(spec, dict):
                check.error(akey, "must be a list of roles or a mapping")
                continue
            check.unknown_keys(spec, ATTACHMENT_KEYS, akey)
            attachments[str(kind)] = _rule(check, spec, akey, states[process])
        processes[str(process)] = ProcessVisibility(groups, events, attachments)
    personal = _personal(check, raw.get("personal"))
    if check.errors:
        raise VisibilityError(check.errors)
    return Visibility(version=int(version), processes=processes, personal=personal)  # type: ignore[arg-type]  # checked above


def _personal(check: Checker, raw: Any) -> frozenset[str]:
    if raw is not None and not isinstance(raw, list):
        check.error("personal", "must be a list of field names")
        return frozenset()
    names = check.names(raw, "personal")
    seen: set[str] = set()
    for name in names:
        if not FIELD_NAME.fullmatch(name):
            check.error("personal", f"not a field name: {name!r} (lower-case letters, digits and _)")
        elif name in seen:
            check.error("personal", f"{name!r} is listed twice")
        seen.add(name)
    return frozenset(seen)


def _roles(check: Checker, raw: Any, key: str) -> frozenset[str]:
    names = check.names(raw, key)
    for name in names:
        if name not in ROLES:
            check.error(key, f"unknown role {name!r}")
    return frozenset(names)


def _rule(check: Checker, raw: dict[str, Any], key: str, states: set[str]) -> Rule:
    if "visible_to" not in raw:
        check.error(f"{key}.visible_to", "missing (who sees it?)")
    in_states: dict[str, frozenset[str]] = {}
    raw_states = raw.get("in_states") or {}
    if not isinstance(raw_states, dict):
        check.error(f"{key}.in_states", "must be a mapping of role to states")
        raw_states = {}
    for role, names in raw_states.items():
        if role not in ROLES:
            check.error(f"{key}.in_states", f"unknown role {role!r}")
        listed = check.names(names, f"{key}.in_states.{role}")
        for state in listed:
            if state not in states:
                check.error(f"{key}.in_states.{role}", f"unknown state {state!r}")
        in_states[str(role)] = frozenset(listed)
    return Rule(visible_to=_roles(check, raw.get("visible_to"), f"{key}.visible_to"), in_states=in_states,
                own_to=_roles(check, raw.get("own_to"), f"{key}.own_to"))


def _groups(check: Checker, raw: Any, key: str, states: set[str]) -> dict[str, FieldGroup]:
    if not isinstance(raw, dict):
        check.error(key, "must be a mapping of field groups")
        return {}
    groups: dict[str, FieldGroup] = {}
    owner: dict[str, str] = {}
    for name, body in raw.items():
        gkey = f"{key}.{name}"
        if not isinstance(body, dict):
            check.error(gkey, "must be a mapping")
            continue
        check.unknown_keys(body, GROUP_KEYS, gkey)
        keys = check.names(body.get("keys"), f"{gkey}.keys")
        if not keys:
            check.error(f"{gkey}.keys", "missing (which fields of the case's data?)")
        for k in keys:
            if k in owner:
                check.error(f"{gkey}.keys", f"field {k!r} is already in group {owner[k]!r}")
            owner[k] = str(name)
        others = body.get("others_see")
        if others is not None and others not in SUMMARIES:
            check.error(f"{gkey}.others_see", f"unknown summary {others!r} (one of {sorted(SUMMARIES)})")
        groups[str(name)] = FieldGroup(name=str(name), label=check.label(body.get("label"), f"{gkey}.label"),
                                       keys=keys, rule=_rule(check, body, gkey, states),
                                       others_see=others if isinstance(others, str) else None)
    return groups


def load_visibility(path: Path = VISIBILITY_PATH) -> Visibility:
    """Read and check the file against the current process definitions."""
    from workflow.core.definitions import DEFINITIONS_DIR, PROCESS_FILES, load_file

    states = {name: set(load_file(DEFINITIONS_DIR / f"{name}.yaml").states) for name in PROCESS_FILES}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VisibilityError([f"{path.name}: (file): cannot read: {exc.strerror}"]) from None
    return parse_visibility(text, path.name, states)


@cache
def rules() -> Visibility:
    """definitions/visibility.yaml, read once per process."""
    return load_visibility()


# the personal keys of a case's data are also the ones sealed in the database (workflow.core.datakeys.SealedFields)
datakeys.PERSONAL.source = lambda: rules().personal


# --- applying it ------------------------------------------------------------------------------------------------

def visible_data(actor: Actor, case: Case) -> dict[str, Any]:
    """The case's data as `actor` may read it: groups they may not see taken out (their own unit's entry kept
    where the group allows it), the summaries they get instead put in."""
    spec = rules().of(case.definition_key)
    full = case.data or {}
    data = copy.deepcopy(full)
    for group in spec.groups.values():
        if group.rule.sees_all(actor.role, case.state):
            continue
        for key in group.keys:
            value = data.pop(key, None)
            if actor.role in group.rule.own_to and isinstance(value, dict) and actor.unit_id is not None:
                own = {k: v for k, v in value.items() if k == str(actor.unit_id)}
                data[key] = own
        if group.others_see:
            shown = SUMMARIES[group.others_see](full)
            if shown is not None:
                data[group.others_see] = shown
    return data


def readable_case(session: Session, actor: Actor, case_id: int) -> Case:
    """The case as `actor` may read it (NotFound as get_case): a copy outside the session whose data is
    `visible_data`, so that nothing read from it can be written back by accident."""
    case = get_case(session, actor, case_id)
    return shown(actor, case)


def shown(actor: Actor, case: Case) -> Case:
    """A detached copy of a case `actor` sees, with only the data they may read."""
    values = {c: getattr(case, c) for c in Case.model_fields if c != "data"}
    return Case(**values, data=visible_data(actor, case))


def may_see_kind(actor: Actor, case: Case, kind: str) -> bool:
    """Whether `actor`, who sees `case`, may see its attachments (or documents made on demand) of `kind`."""
    rule = rules().of(case.definition_key).attachments.get(kind)
    return rule is None or rule.sees_all(actor.role, case.state)


def hidden_keys(actor: Actor, case: Case) -> set[str]:
    """Keys of the case's data `actor` may not read in full."""
    spec = rules().of(case.definition_key)
    return {k for g in spec.groups.values() if not g.rule.sees_all(actor.role, case.state) for k in g.keys}


def visible_events(actor: Actor, case: Case, events: list[AuditEvent]) -> list[AuditEvent]:
    """The case's timeline as `actor` may read it: steps whose author is confidential (definitions: events) keep
    their place and name, not who, which unit, the comment nor the data; changes to hidden fields are left out.
    Events are copies outside the session (the trail itself is never changed)."""
    spec = rules().of(case.definition_key)
    hidden = hidden_keys(actor, case)
    out = []
    for event in events:
        group = spec.groups.get(spec.events.get(event.trigger or "", ""))
        secret = (group is not None and not group.rule.sees_all(actor.role, case.state)
                  and not (actor.unit_id is not None and event.unit_id == actor.unit_id))
        if not secret and not hidden:
            out.append(event)
            continue
        copy_ = AuditEvent(**{c: getattr(event, c) for c in AuditEvent.model_fields})
        if secret:
            copy_.actor_name, copy_.actor_id, copy_.unit_name, copy_.unit_id = HIDDEN_NAME, None, None, None
            copy_.comment, copy_.data = None, "{}"
        else:
            copy_.data = _without(event.data, hidden)
        out.append(copy_)
    return out


def _without(raw: str, hidden: set[str]) -> str:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return "{}"
    if not isinstance(data, dict):
        return raw
    for container in ("changes", "data"):
        if isinstance(data.get(container), dict):
            data[container] = {k: v for k, v in data[container].items() if k not in hidden}
    for key in hidden:
        data.pop(key, None)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


# --- what the audit trail keeps of personal data ----------------------------------------------------------------

# The trail records that a personal value of a case's data was recorded or changed, never the value (as
# workflow.accounts.services.update_account does for contact details); the auditor's pages say the same.
RECORDED, CHANGED_FACT = "recorded", "changed"


def personal_as_fact(data: dict[str, Any], fact: str) -> dict[str, Any]:
    """`data` (a case's data, or its changes) with the value of each personal key replaced by `fact`."""
    personal = rules().personal
    return {k: fact if k in personal else v for k, v in data.items()}


# --- what the security auditor is shown of the audit trail -----------------------------------------------------

@dataclass(frozen=True)
class Withheld:
    """A value the security auditor is not shown: `changed` for a change (its old and new values), else a value
    that was recorded."""

    changed: bool = False


WITHHELD = Withheld()
CHANGED = Withheld(changed=True)
_CONTAINERS = ("changes", "data")  # a case's changed fields (old, new) and a new case's fields


@dataclass(frozen=True)
class AuditorView:
    """An event's comment and data as the auditor reads them; every other column of the event is shown as is."""

    comment: str | Withheld | None
    data: dict[str, Any]


def redacted_for_auditor(event: Any, definition_key: str | None) -> AuditorView:
    """The comment and data of an audit event as the security auditor is shown them (definitions/visibility.yaml):
    every key stays, with the fact that its value was recorded or changed, but the values of `personal` keys
    (anywhere in the data), of the field groups the auditor does not see (in an event about a case of their
    process), and every value and the comment of a step that follows such a group are withheld.

    `definition_key` is the process of the event's case; None for a case no longer known, whose event then hides
    the groups of every process. The event itself (and so the hash chain) is never changed: this only reads it.
    """
    spec = rules()
    hidden = set(spec.personal)
    secret = False
    if event.case_id is not None:
        state = event.to_state or event.from_state or ""
        processes = [spec.of(definition_key)] if definition_key else list(spec.processes.values())
        for process in processes:
            hidden.update(k for g in process.groups.values() if not g.rule.sees_all(Role.auditor, state)
                          for k in g.keys)
            group = process.groups.get(process.events.get(event.trigger or "", ""))
            secret = secret or (group is not None and not group.rule.sees_all(Role.auditor, state))
    try:
        data = json.loads(event.data or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    comment = WITHHELD if secret and event.comment else event.comment
    return AuditorView(comment, _withhold(data, hidden, everything=secret))


def _withhold(data: dict[str, Any], hidden: set[str], *, everything: bool, changes: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _CONTAINERS and isinstance(value, dict):
            out[key] = _withhold(value, hidden, everything=everything, changes=key == "changes")
        elif everything or key in hidden:
            out[key] = CHANGED if changes else WITHHELD
        else:
            out[key] = _inner(value, hidden)
    return out


def _inner(value: Any, hidden: set[str]) -> Any:
    """`hidden` keys deeper down (a list of mappings, a mapping within a mapping) withheld as well."""
    if isinstance(value, dict):
        return _withhold(value, hidden, everything=False)
    if isinstance(value, list):
        return [_inner(v, hidden) for v in value]
    return value


def case_processes(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    """The process (definition key) of each case named, for `redacted_for_auditor`."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    cases = table_of(Case).c
    rows = session.connection().execute(sa.select(cases.id, cases.definition_key).where(cases.id.in_(ids)))
    return {case_id: key for case_id, key in rows}


class AuditorReader:
    """`redacted_for_auditor` over a stream of events, looking up each case's process once."""

    def __init__(self, session: Session):
        self.session = session
        self.processes: dict[int, str | None] = {}

    def know(self, case_ids: Iterable[int | None]) -> None:
        missing = {i for i in case_ids if i is not None and i not in self.processes}
        if missing:
            found = case_processes(self.session, missing)
            self.processes.update({i: found.get(i) for i in missing})

    def __call__(self, event: Any) -> AuditorView:
        if event.case_id is not None:
            self.know([event.case_id])
        return redacted_for_auditor(event, self.processes.get(event.case_id) if event.case_id else None)
