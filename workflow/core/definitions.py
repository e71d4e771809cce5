"""Load the YAML process definitions, validate them, and keep every version ever loaded."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.core.models import Role
from workflow.core.registry import ACTIONS, GUARDS, load_rules
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

DEFINITIONS_DIR = Path(__file__).resolve().parents[2] / "definitions"
PROCESS_FILES = ("designation", "town", "inspection", "rectification", "statistics_report", "redesignation",
                 "evaluation_town", "evaluation_ranking", "key_project", "investment_project", "problem",
                 "action_plan", "plan_task", "provincial_recommendation")

TOP_KEYS = {
    "key", "version", "label", "initial", "states", "transitions", "number_prefix", "description",
    "create_roles", "create_accepts", "create_guards", "create_actions",
}
STATE_KEYS = {"label", "final", "deadlines", "actors", "description"}
DEADLINE_KEYS = {"name", "working_days", "calendar_days", "field", "on_expiry", "reminders", "label", "remind",
                 "on_expiry_text"}
# Who a deadline's reminders go to: the case's county, the office, the leading group, or the units
# brought into the case that have not answered yet.
RECIPIENTS = {"county", "office", "leader", "pending_units"}
TRANSITION_KEYS = {
    "trigger", "label", "source", "dest", "roles", "guards", "actions", "requires", "accepts",
    "comment", "confirm", "system", "description", "style",
}
COMMENT_MODES = {"required", "optional", "none"}
# How a step's button looks on the case page: the main step of a state in the primary colour, a destructive one
# (withdraw, reject, return) in red, every other one neutral.
STYLES = {"primary", "danger", "neutral"}


@dataclass(frozen=True)
class DeadlineSpec:
    name: str
    label: Label
    working_days: int | None
    calendar_days: int | None
    field: str | None
    on_expiry: str | None
    reminders: tuple[int, ...]
    remind: tuple[str, ...] = ("county",)
    # One line for the people waiting on it: what happens when the deadline passes (None: not declared).
    on_expiry_text: Label | None = None


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: Label
    final: bool
    actors: tuple[str, ...]  # whose inbox a case in this state appears in
    deadlines: tuple[DeadlineSpec, ...]


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    label: Label
    sources: tuple[str, ...]
    dest: str | None
    roles: frozenset[str]
    guards: tuple[str, ...]
    actions: tuple[str, ...]
    requires: tuple[str, ...]
    accepts: tuple[str, ...]
    comment: str
    confirm: bool
    system: bool
    style: str = "neutral"

    @property
    def moves(self) -> bool:
        return self.dest is not None


@dataclass
class Definition:
    key: str
    version: int
    label: Label
    initial: str
    number_prefix: str
    create_roles: frozenset[str]
    create: TransitionSpec
    states: dict[str, StateSpec]
    transitions: list[TransitionSpec]
    source: str
    sha256: str
    path: str = ""
    _by_trigger: dict[tuple[str, str], TransitionSpec] = field(default_factory=dict, repr=False)
    _triggers: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        for spec in self.transitions:
            self._triggers.add(spec.trigger)
            for source in spec.sources:
                self._by_trigger[(spec.trigger, source)] = spec

    def has_trigger(self, trigger: str) -> bool:
        return trigger in self._triggers

    def transition(self, trigger: str, state: str) -> TransitionSpec | None:
        """The transition `trigger` from `state`, or None when it is not valid there."""
        return self._by_trigger.get((trigger, state))

    def available(self, state: str) -> list[TransitionSpec]:
        """Transitions whose source is `state`, in file order."""
        return [t for t in self.transitions if state in t.sources]

    def state_label(self, state: str, locale: str | None = None) -> str:
        spec = self.states.get(state)
        return spec.label.get(locale) if spec else state

    def trigger_label(self, trigger: str, locale: str | None = None) -> str:
        for spec in self.transitions:
            if spec.trigger == trigger:
                return spec.label.get(locale)
        return trigger


class DefinitionError(FileErrors):
    """One or more problems in definition files; `errors` holds `file: key: problem` lines."""


def parse_definition(text: str, filename: str) -> Definition:
    """Parse and validate one definition; raise DefinitionError listing every problem found."""
    load_rules()
    check = Checker(filename)
    raw = read_mapping(text, filename, DefinitionError)
    check.unknown_keys(raw, TOP_KEYS, "")
    # A missing key is reported once, as missing, not again as having the wrong type.
    missing = {k for k in ("key", "version", "label", "initial", "states", "transitions") if k not in raw}
    for required in sorted(missing):
        check.error(required, "missing")
    key = raw.get("key")
    if not isinstance(key, str) or not key.isidentifier():
        if "key" not in missing:
            check.error("key", "must be an identifier")
        key = str(key)
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        if "version" not in missing:
            check.error("version", "must be a positive integer")
        version = 0
    label = check.label(raw["label"], "label") if "label" not in missing else Label("", "")
    create_roles = check.names(raw.get("create_roles"), "create_roles")
    for role in create_roles:
        if role not in Role.__members__:
            check.error("create_roles", f"unknown role {role!r}")
    create_guards = check.names(raw.get("create_guards"), "create_guards")
    for g in create_guards:
        if g not in GUARDS:
            check.error("create_guards", f"unknown guard {g!r}")
    create_actions = check.names(raw.get("create_actions"), "create_actions")
    for a in create_actions:
        if a not in ACTIONS:
            check.error("create_actions", f"unknown action {a!r}")
    # Starting a case is treated as a transition into the initial state, with its own fields, guards and actions.
    create = TransitionSpec(
        trigger="create", label=Label("新建", "Create"), sources=(), dest=str(raw.get("initial")),
        roles=frozenset(create_roles), guards=create_guards, actions=create_actions, requires=(),
        accepts=check.names(raw.get("create_accepts"), "create_accepts"), comment="none", confirm=False,
        system=False)

    raw_states = raw.get("states") or {}
    if not isinstance(raw_states, dict) or not raw_states:
        if "states" not in missing:
            check.error("states", "must be a non-empty mapping")
        raw_states = {}
    states: dict[str, StateSpec] = {}
    for name, body in raw_states.items():
        skey = f"states.{name}"
        if not isinstance(body, dict):
            check.error(skey, "must be a mapping")
            continue
        check.unknown_keys(body, STATE_KEYS, skey)
        final = body.get("final", False)
        if not isinstance(final, bool):
            check.error(f"{skey}.final", "must be true or false")
        actors = check.names(body.get("actors"), f"{skey}.actors")
        for actor in actors:
            if actor not in Role.__members__:
                check.error(f"{skey}.actors", f"unknown role {actor!r}")
        deadlines = tuple(
            _deadline(check, d, f"{skey}.deadlines[{i}]") for i, d in enumerate(body.get("deadlines") or [])
        )
        states[name] = StateSpec(str(name), check.label(body.get("label"), f"{skey}.label"),
                                 bool(final), actors, deadlines)

    initial = raw.get("initial")
    if initial not in states and "initial" not in missing:
        check.error("initial", f"unknown state {initial!r}")

    transitions: list[TransitionSpec] = []
    seen: dict[tuple[str, str], int] = {}
    raw_transitions = raw.get("transitions") or []
    if not isinstance(raw_transitions, list):
        check.error("transitions", "must be a list")
        raw_transitions = []
    for i, body in enumerate(raw_transitions):
        tkey = f"transitions[{i}]"
        if not isinstance(body, dict):
            check.error(tkey, "must be a mapping")
            continue
        check.unknown_keys(body, TRANSITION_KEYS, tkey)
        trigger = body.get("trigger")
        if not isinstance(trigger, str) or not trigger.isidentifier():
            check.error(f"{tkey}.trigger", "must be an identifier")
            continue
        tkey = f"transitions[{i}] ({trigger})"
        sources = check.names(body.get("source"), f"{tkey}.source")
        if not sources:
            check.error(f"{tkey}.source", "missing")
        for source in sources:
            if source not in states:
                check.error(f"{tkey}.source", f"unknown state {source!r}")
            elif states[source].final and body.get("dest") is not None:
                check.error(f"{tkey}.source", f"final state {source!r} cannot be left")
            if (trigger, source) in seen:
                check.error(f"{tkey}.trigger",
                            f"trigger {trigger!r} defined twice from state {source!r} "
                            f"(also transitions[{seen[(trigger, source)]}])")
            seen[(trigger, source)] = i
        dest = body.get("dest")
        if dest is not None and dest not in states:
            check.error(f"{tkey}.dest", f"unknown state {dest!r}")
        is_system = body.get("system", False)
        if not isinstance(is_system, bool):
            check.error(f"{tkey}.system", "must be true or false")
        roles = check.names(body.get("roles"), f"{tkey}.roles")
        for role in roles:
            if role not in Role.__members__ or role == Role.system:
                check.error(f"{tkey}.roles", f"unknown role {role!r}")
        if is_system and roles:
            check.error(f"{tkey}.roles", "a system trigger is fired by the scheduler only; remove roles")
        if not is_system and not roles:
            check.error(f"{tkey}.roles", "missing (who may fire it?)")
        guards = check.names(body.get("guards"), f"{tkey}.guards")
        for g in guards:
            if g not in GUARDS:
                check.error(f"{tkey}.guards", f"unknown guard {g!r}")
        actions = check.names(body.get("actions"), f"{tkey}.actions")
        for a in actions:
            if a not in ACTIONS:
                check.error(f"{tkey}.actions", f"unknown action {a!r}")
        comment = body.get("comment", "optional")
        if comment not in COMMENT_MODES:
            check.error(f"{tkey}.comment", f"must be one of {sorted(COMMENT_MODES)}")
        style = body.get("style", "neutral")
        if style not in STYLES:
            check.error(f"{tkey}.style", f"must be one of {sorted(STYLES)}")
        elif style != "neutral" and is_system:
            check.error(f"{tkey}.style", "a system trigger has no button; remove style")
        transitions.append(TransitionSpec(
            trigger=trigger,
            label=check.label(body.get("label"), f"{tkey}.label"),
            sources=sources,
            dest=dest,
            roles=frozenset({Role.system.value} if is_system else roles),
            guards=guards,
            actions=actions,
            requires=check.names(body.get("requires"), f"{tkey}.requires"),
            accepts=check.names(body.get("accepts"), f"{tkey}.accepts"),
            comment=str(comment),
            confirm=bool(body.get("confirm", False)),
            system=bool(is_system),
            style=str(style),
        ))

    if initial in states:
        _check_graph(check, states, transitions, str(initial))

    if check.errors:
        raise DefinitionError(check.errors)
    return Definition(
        key=key, version=int(version), label=label, initial=str(initial),
        number_prefix=str(raw.get("number_prefix") or key[:2].upper()), create_roles=frozenset(create_roles),
        create=create,
        states=states, transitions=transitions, source=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(), path=filename,
    )


def _deadline(check: Checker, raw: Any, key: str) -> DeadlineSpec:
    if not isinstance(raw, dict):
        check.error(key, "must be a mapping")
        return DeadlineSpec("", Label("", ""), None, None, None, None, ())
    check.unknown_keys(raw, DEADLINE_KEYS, key)
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        check.error(f"{key}.name", "must be an identifier")
    wd, cd, fld = raw.get("working_days"), raw.get("calendar_days"), raw.get("field")
    if wd is not None and cd is not None:
        check.error(key, "give working_days or calendar_days, not both")
    if wd is None and cd is None and fld is None:
        check.error(key, "needs working_days, calendar_days or field")
    if fld is not None and (not isinstance(fld, str) or not fld.endswith("_date")):
        check.error(f"{key}.field", "must name a date field (its name ends in _date, so the engine checks its type)")
    for k, v in (("working_days", wd), ("calendar_days", cd)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            check.error(f"{key}.{k}", "must be a positive integer")
    reminders = raw.get("reminders") or []
    if not isinstance(reminders, list) or not all(isinstance(r, int) and r >= 0 for r in reminders):
        check.error(f"{key}.reminders", "must be a list of working-day offsets (0 = on the day)")
        reminders = []
    remind = check.names(raw.get("remind", "county"), f"{key}.remind")
    for who in remind:
        if who not in RECIPIENTS:
            check.error(f"{key}.remind", f"unknown recipients {who!r} (one of {sorted(RECIPIENTS)})")
    expiry_text = None
    if "on_expiry_text" in raw:
        expiry_text = check.label(raw["on_expiry_text"], f"{key}.on_expiry_text",
                                  "missing text of what happens when the deadline passes")
    return DeadlineSpec(
        name=str(name), label=check.label(raw.get("label"), f"{key}.label"),
        working_days=wd, calendar_days=cd, field=fld, on_expiry=raw.get("on_expiry"),
        reminders=tuple(sorted(set(reminders), reverse=True)), remind=remind, on_expiry_text=expiry_text,
    )


def _check_graph(check: Checker, states: dict[str, StateSpec], transitions: list[TransitionSpec],
                 initial: str) -> None:
    exits: dict[str, set[str]] = {name: set() for name in states}
    for spec in transitions:
        if spec.dest is None or spec.dest not in states:
            continue
        for source in spec.sources:
            if source in exits:
                exits[source].add(spec.dest)
    reached = {initial}
    queue = deque([initial])
    while queue:
        for nxt in exits[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for name, state in states.items():
        if name not in reached:
            check.error(f"states.{name}", f"unreachable from the initial state {initial!r}")
        if not state.final and not (exits[name] - {name}):
            check.error(f"states.{name}", "not final and has no transition out")
        for i, dl in enumerate(state.deadlines):
            if dl.on_expiry is None:
                continue
            leaving = [t for t in transitions if t.trigger == dl.on_expiry and name in t.sources]
            if not leaving or leaving[0].dest in (None, name):
                check.error(f"states.{name}.deadlines[{i}].on_expiry",
                            f"expiry trigger {dl.on_expiry!r} does not leave state {name!r}")
            elif not leaving[0].system:
                check.error(f"states.{name}.deadlines[{i}].on_expiry",
                            f"expiry trigger {dl.on_expiry!r} must be a system trigger")


def load_file(path: Path) -> Definition:
    """Parse and validate one definition file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError([f"{path.name}: (file): cannot read: {exc.strerror}"]) from None
    return parse_definition(text, path.name)


def load_directory(directory: Path = DEFINITIONS_DIR) -> dict[str, Definition]:
    """Every process definition in `directory`, keyed by `key`; all errors of all files at once."""
    found: dict[str, Definition] = {}
    errors: list[str] = []
    for name in PROCESS_FILES:
        path = directory / f"{name}.yaml"
        if not path.exists():
            errors.append(f"{path.name}: (file): missing")
            continue
        try:
            definition = load_file(path)
        except DefinitionError as exc:
            errors.extend(exc.errors)
            continue
        if definition.key != name:
            errors.append(f"{path.name}: key: must be {name!r} to match the file name")
        found[definition.key] = definition
    if errors:
        raise DefinitionError(errors)
    return found
