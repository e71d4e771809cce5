"""What the recommendation pages and the API show: the rounds, the shortlist, and one round's towns with their
records, letters and answers. Only the office and the leader read them (READERS); anyone else is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.errors import Forbidden, not_found_case
from workflow.core.models import Case, Town, Unit
from workflow.core.queries import registry_case
from workflow.recommendation.criteria import ShortlistRow, shortlist
from workflow.recommendation.rules import ANSWERS, KEY, rounds

READERS = frozenset({"office", "leader"})


def may_read(actor: Actor) -> None:
    """Refuse (403) every role but the office and the leader."""
    if actor.role not in READERS:
        raise Forbidden("只有领导小组办公室和领导可以查看省级推荐。",
                        "Only the office and the leader see the recommendations.", code="role_not_allowed")


@dataclass(frozen=True)
class TownRow:
    town_id: int
    town: str
    county: str
    record_id: int | None
    record_state: str | None
    record_state_label: str
    letter: dict[str, Any] | None
    answer: dict[str, Any] | None

    @property
    def answer_label(self) -> str:
        return ANSWERS[self.answer["answer"]][0] if self.answer else ""


@dataclass(frozen=True)
class RoundView:
    case: Case
    towns: list[TownRow]
    shortlist: list[ShortlistRow]  # while the office chooses: every municipal town, with its reasons
    state_label: str
    transitions: list[str]

    @property
    def may_choose(self) -> bool:
        return "select_towns" in self.transitions

    @property
    def may_answer(self) -> bool:
        return "record_answer" in self.transitions

    @property
    def waiting(self) -> list[TownRow]:
        return [t for t in self.towns if t.answer is None]


def round_list(session: Session, actor: Actor) -> list[Case]:
    may_read(actor)
    return rounds(session)


def office_shortlist(session: Session, actor: Actor, today: date) -> list[ShortlistRow]:
    may_read(actor)
    return shortlist(session, today)


def county_names(session: Session) -> dict[int, str]:
    return {unit_id: name for unit_id, name in session.exec(select(Unit.id, Unit.name)).all() if unit_id is not None}


def round_view(session: Session, actor: Actor, case_id: int, today: date) -> RoundView:
    """One round as its page shows it (404 for a case that is not a round, as for one that does not exist)."""
    may_read(actor)
    case = get_case(session, actor, case_id)
    if case.definition_key != KEY:
        raise not_found_case()
    definition = CATALOG.get(case.definition_key, case.definition_version, session)
    counties = county_names(session)
    towns = []
    for town_id in case.data.get("selected_towns") or []:
        town = session.get(Town, town_id)
        if town is None:
            continue
        record = registry_case(session, town_id)
        record_def = CATALOG.get(record.definition_key, record.definition_version, session) if record else None
        towns.append(TownRow(town_id=town_id, town=town.name, county=counties.get(town.county_id, ""),
                             record_id=record.id if record else None, record_state=record.state if record else None,
                             record_state_label=record_def.state_label(record.state) if record and record_def else "",
                             letter=(case.data.get("letters") or {}).get(str(town_id)),
                             answer=(case.data.get("answers") or {}).get(str(town_id))))
    transitions = [t.trigger for t in definition.available(case.state)
                   if actor.role in t.roles and not t.system]
    return RoundView(case=case, towns=towns, shortlist=shortlist(session, today) if case.state == "selecting" else [],
                     state_label=definition.state_label(case.state), transitions=transitions)
