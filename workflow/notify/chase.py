"""催办: the office reminds, in one batch, everyone still owing what a deadline waits for.

Two batches: the member units that have not answered a designation in 会审 (the `opinions` deadline), and the
counties of every rectification order whose deadline has passed (the supervision board's overdue orders). Who
is told, by which channel and with which text is the `chase` rules' business (definitions/notifications.yaml);
`plan_*` says who would be reminded (the confirmation page), `send_*` queues the messages through the usual
machinery (in-app rows and the outbox), records one audit event, all in the caller's transaction. The same batch
confirmed twice in the same minute (a double click) sends once: each message's key holds the minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.errors import Conflict, Forbidden
from workflow.core.models import Case, CaseParty, Role, Unit
from workflow.core.queries import open_deadlines, supervision_board
from workflow.notify.rules import apply_rules, recipient_ids, rules

OPINIONS = ("designation", "consultation", "opinions")  # process, state, deadline
ORDERS = ("rectification", "rectify")  # process, deadline


@dataclass(frozen=True)
class ChaseItem:
    case_id: int
    number: str
    title: str
    deadline: str  # its label, zh
    deadline_en: str
    due_date: str
    overdue: bool
    owing: list[str]  # who still owes it: the units, or the county
    users: int  # how many people the rules reach


@dataclass
class ChasePlan:
    kind: str  # opinions | orders
    items: list[ChaseItem] = field(default_factory=list)

    @property
    def users(self) -> int:
        return sum(item.users for item in self.items)


def _office_only(actor: Actor) -> None:
    if actor.role != Role.office.value:
        raise Forbidden("只有领导小组办公室可以催办", "Only the office may send reminders")


def _deadline_label(process: str, name: str) -> tuple[str, str]:
    definition = CATALOG.current(process)
    spec = next(d for s in definition.states.values() for d in s.deadlines if d.name == name)
    return spec.label.zh, spec.label.en


def _item(session: Session, case: Case, deadline: str, due: str, owing: list[str], today: date,
          selectors: tuple[str, ...]) -> ChaseItem:
    zh, en = _deadline_label(case.definition_key, deadline)
    users = recipient_ids(session.connection(), case.id, case.county_id, selectors)
    return ChaseItem(case_id=case.id, number=case.number or "", title=case.title or "",  # type: ignore[arg-type]  # a saved case has its id
                     deadline=zh, deadline_en=en, due_date=due, overdue=date.fromisoformat(due) < today,
                     owing=owing, users=len(users))


def _selectors(process: str, deadline: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for r in rules().matching(process, "chase", deadline) for w in r.recipients))


def plan_opinions(session: Session, *, actor: Actor, case_id: int, now: datetime) -> ChasePlan:
    """The units of a designation in 会审 that have not answered, with its opinion deadline."""
    _office_only(actor)
    case = get_case(session, actor, case_id)
    process, state, deadline = OPINIONS
    if case.definition_key != process or case.state != state:
        raise Conflict("该案件不在成员单位会审阶段，无需催办意见",
                       "The case is not in the joint review: there are no opinions to chase")
    pending = session.exec(select(Unit.name).join(CaseParty, col(CaseParty.unit_id) == col(Unit.id)).where(
        CaseParty.case_id == case.id, col(CaseParty.responded_at).is_(None)).order_by(col(Unit.id))).all()
    plan = ChasePlan("opinions")
    if not pending:
        return plan
    rows = [r for r in open_deadlines(session, [case_id]).get(case_id, []) if r.name == deadline]
    due = str(rows[0].due_date if rows else case.data.get("opinion_due_date") or "")
    plan.items.append(_item(session, case, deadline, due, list(pending), local_date(now),
                            _selectors(process, deadline)))
    return plan


def plan_overdue_orders(session: Session, *, actor: Actor, now: datetime) -> ChasePlan:
    """The open rectification orders whose deadline has passed, as the supervision board shows them."""
    _office_only(actor)
    process, deadline = ORDERS
    plan = ChasePlan("orders")
    today = local_date(now)
    selectors = _selectors(process, deadline)
    for case, county, _town, badge in supervision_board(session, actor, now=now):
        if badge is not None and badge.overdue:
            plan.items.append(_item(session, case, deadline, badge.due_date, [county], today, selectors))
    return plan


def _send(session: Session, actor: Actor, plan: ChasePlan, process: str, deadline: str, now: datetime) -> int:
    if not plan.items:
        raise Conflict("没有需要催办的对象", "There is no one to remind")
    matched = rules().matching(process, "chase", deadline)
    minute = now.strftime("%Y%m%d%H%M")
    definition = CATALOG.current(process)
    sent = 0
    conn = session.connection()
    for item in plan.items:
        case = session.get(Case, item.case_id)
        assert case is not None
        params: dict[str, Any] = {
            "number": item.number, "title": item.title, "deadline": item.deadline, "deadline_en": item.deadline_en,
            "due_date": item.due_date, "overdue": item.overdue,
            "state": definition.state_label(case.state), "state_en": definition.state_label(case.state, "en"),
            "step": "催办", "step_en": "reminded by the office"}
        sent += apply_rules(conn, matched, case_id=case.id, county_id=case.county_id, kind="event", params=params,
                            source=f"chase:{case.id}:{deadline}:{minute}", now=now)
    audit.record(session, kind="reminder_batch_sent", now=now, actor=actor,
                 case_id=plan.items[0].case_id if plan.kind == "opinions" else None,
                 data={"batch": plan.kind, "cases": [i.case_id for i in plan.items],
                       "owing": {str(i.case_id): i.owing for i in plan.items}, "notifications": sent})
    return sent


def send_opinions(session: Session, *, actor: Actor, case_id: int, now: datetime) -> ChasePlan:
    """Remind every unit of the case that has not answered; the plan that was sent."""
    plan = plan_opinions(session, actor=actor, case_id=case_id, now=now)
    _send(session, actor, plan, OPINIONS[0], OPINIONS[2], now)
    return plan


def send_overdue_orders(session: Session, *, actor: Actor, now: datetime) -> ChasePlan:
    """Remind the county of every overdue rectification order; the plan that was sent."""
    plan = plan_overdue_orders(session, actor=actor, now=now)
    _send(session, actor, plan, *ORDERS, now)
    return plan
