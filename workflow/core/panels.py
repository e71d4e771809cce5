"""The "what to do now" panel at the top of a case page: what this user can do, by when, and what to know.

The core builds the part every process shares from the definition (the steps the user may take, each styled as
the definition says; the open deadline of the state; whether a draft notice can be read). A process registers,
for its states and the roles acting there, what else the user needs to know to act (the office's reasons for a
return, the tally of the joint review, the materials at hand...), as sections of labelled lines; the core knows
no process, and the page only renders what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from workflow.core.access import case_read
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.definitions import TransitionSpec
from workflow.core.engine import allowed_transitions
from workflow.core.models import AuditEvent, Case
from workflow.core.previews import has_preview
from workflow.core.queries import DeadlineView, case_deadlines
from workflow.core.yamlcheck import Label


@dataclass(frozen=True)
class Step:
    """A step the user may take now, as its button shows it."""

    trigger: str
    label: Label
    style: str  # primary | danger | neutral
    is_direct: bool  # nothing to enter and nothing irreversible: one click on the case page does it


@dataclass(frozen=True)
class Due:
    """The open deadline of the state the case is in, or the passed one that keeps the case overdue."""

    label: Label
    due_date: str
    working_days_left: int  # negative once passed
    is_estimated: bool


@dataclass(frozen=True)
class Line:
    label: Label
    value: Label
    tone: str = ""  # ok | bad | warn, or "" for plain


@dataclass(frozen=True)
class Section:
    """One thing to know, with a key pages and tests can find it by."""

    key: str
    title: Label
    text: Label | None = None
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Panel:
    steps: tuple[Step, ...]
    due: tuple[Due, ...]
    sections: tuple[Section, ...]
    has_preview: bool  # a draft of the notice the case is about to issue can be read
    waiting_on: tuple[str, ...]  # the roles that act next, when this user has nothing to do

    @property
    def main(self) -> Step | None:
        return next((s for s in self.steps if s.style == "primary"), None)


SectionsFn = Callable[[Session, Case, Actor, datetime], list[Section]]
PANELS: dict[tuple[str, str, str], SectionsFn] = {}


def panel(definition: str, *, states: tuple[str, ...], roles: tuple[str, ...]) -> Callable[[SectionsFn], SectionsFn]:
    """Register what a user of one of `roles` needs to know about a case of `definition` in one of `states`."""

    def register(fn: SectionsFn) -> SectionsFn:
        for state in states:
            for role in roles:
                if PANELS.get((definition, state, role), fn) is not fn:
                    raise ValueError(f"two panels for {definition} in {state} for {role}")
                PANELS[(definition, state, role)] = fn
        return fn

    return register


def last_comment(session: Session, case_id: int, trigger: str) -> str | None:
    """The comment given with the last `trigger` on the case (e.g. the office's reasons for a return)."""
    return session.exec(select(AuditEvent.comment).where(AuditEvent.case_id == case_id,
                                                         AuditEvent.trigger == trigger)
                        .order_by(col(AuditEvent.seq).desc())).first()


def last_step(session: Session, case_id: int) -> tuple[str | None, str | None]:
    """The trigger and comment of the last step taken on the case (its creation: None)."""
    row = session.exec(select(AuditEvent.trigger, AuditEvent.comment).where(
        AuditEvent.case_id == case_id, col(AuditEvent.trigger).is_not(None))
        .order_by(col(AuditEvent.seq).desc())).first()
    return (row[0], row[1]) if row else (None, None)


def is_direct(spec: TransitionSpec) -> bool:
    """A step with no field, no comment it must give, and nothing to confirm needs no page of its own."""
    return not (spec.requires or spec.accepts or spec.confirm or spec.comment == "required")


def case_panel(*, session: Session, actor: Actor, case_id: int, now: datetime, case: Case | None = None,
               deadlines: list[DeadlineView] | None = None) -> Panel:
    """What `actor` can do on case `case_id` now, by when, and what to know to do it (NotFound if not visible).
    The case page passes the case as get_case gave it to `actor`, and its `case_deadlines`, read once for the page."""
    case = case_read(session, actor, case_id, case)
    definition = CATALOG.get(case.definition_key, case.definition_version, session)
    transitions = allowed_transitions(definition, case, actor)
    steps = [Step(t.trigger, t.label, t.style, is_direct(t)) for t in transitions]
    state = definition.states.get(case.state)
    concerned = bool(steps) or (state is not None and actor.role in state.actors)
    due: list[Due] = []
    if concerned and state is not None:
        due = [Due(d.label, d.due_date, d.working_days_left, d.is_estimated)
               for d in (deadlines if deadlines is not None else case_deadlines(session, case, now=now))]
    fn = PANELS.get((case.definition_key, case.state, actor.role))
    sections = tuple(fn(session, case, actor, now)) if fn else ()
    waiting = () if steps or state is None or state.final else tuple(r for r in state.actors if r != actor.role)
    return Panel(steps=tuple(steps), due=tuple(due), sections=sections, has_preview=has_preview(actor, case),
                 waiting_on=waiting)
