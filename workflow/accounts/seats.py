"""The leading group's roster as data: seats by position, each held by a user, handed to a successor.

The plan's annex names the leading group by post (组长 the mayor, 副组长, the members, an office whose director is
市工信局's head and whose deputies come from 市农业农村局 and 市文旅局) and says that a successor takes a seat
without a new document. A seat is what its holder acts as: the heads act for the leading group, the office's
director and deputies for the office whatever unit they come from, a member or a liaison for their own unit. A
user acts in their account's own role, or in one of the seats they hold, chosen per login session (one person
may hold two seats); every step they take is recorded with the role and unit they acted in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import (
    Case,
    LoginSession,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Role,
    Seat,
    SeatPosition,
    Unit,
    UnitKind,
    User,
)

POSITION_LABELS = {
    SeatPosition.leader: ("组长", "Head of the leading group"),
    SeatPosition.deputy_leader: ("副组长", "Deputy head"),
    SeatPosition.member: ("成员", "Member"),
    SeatPosition.office_director: ("办公室主任", "Director of the office"),
    SeatPosition.office_deputy: ("办公室副主任", "Deputy director of the office"),
    SeatPosition.liaison: ("联络员", "Liaison officer"),
}
HEADS = (SeatPosition.leader, SeatPosition.deputy_leader)
OFFICE_POSTS = (SeatPosition.office_director, SeatPosition.office_deputy)
# the role a member or liaison acts in, by the kind of their unit
KIND_ROLE = {UnitKind.county: Role.county, UnitKind.member: Role.member, UnitKind.office: Role.office,
             UnitKind.leading_group: Role.leader}
# accounts that may hold a seat: business accounts only (三员分立: the administrator and the auditor never act on
# cases, so they cannot hand themselves a seat either)
HOLDER_ROLES = (Role.county, Role.office, Role.member, Role.leader)
TITLE_MAX = 100


@dataclass(frozen=True)
class Identity:
    """One way a user may act: their account's own (seat_id None) or a seat they hold."""

    seat_id: int | None
    role: str
    unit_id: int
    unit_name: str
    position: str | None  # the seat's position; None for the account's own role
    title: str | None


def position_label(position: str, locale: str = "zh") -> str:
    labels = POSITION_LABELS.get(position)  # type: ignore[call-overload]  # a StrEnum key is found by its text
    if labels is None:
        return position
    return labels[1] if locale == "en" else labels[0]


def _unit_of_kind(session: Session, kind: UnitKind) -> Unit:
    unit = session.exec(select(Unit).where(Unit.kind == kind.value, col(Unit.is_active).is_(True))
                        .order_by(col(Unit.id))).first()
    if unit is None:
        raise Unprocessable(f"没有{'领导小组' if kind == UnitKind.leading_group else '领导小组办公室'}单位，请先建立。",
                            f"There is no {kind.value} unit; create it first.")
    return unit


def acting_for(session: Session, position: str, unit: Unit | None) -> tuple[str, int]:
    """(role, unit id) that the holder of a seat at `position` from `unit` acts as."""
    if position in HEADS:
        return Role.leader.value, int(_unit_of_kind(session, UnitKind.leading_group).id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if position in OFFICE_POSTS:
        return Role.office.value, int(_unit_of_kind(session, UnitKind.office).id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if unit is None:
        raise Unprocessable("成员和联络员须指明所在单位。", "A member or liaison seat must name its unit.",
                            details=[{"field": "unit_id", "zh": "请选择单位", "en": "choose a unit"}])
    return KIND_ROLE[UnitKind(unit.kind)].value, int(unit.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved


def _admin_only(actor: Actor | None) -> None:
    """Seats are changed by the administrator (as accounts are), or by the system when the roster is first made."""
    if actor is not None and actor.role not in (Role.admin, Role.system):
        raise Forbidden("只有系统管理员可以调整领导小组名册。", "Only the administrator changes the roster.")


def candidates(session: Session) -> list[tuple[User, str]]:
    """The accounts that may hold a seat (active business accounts) with their unit's name, by unit and name."""
    rows = session.exec(select(User, Unit.name).join(Unit, col(Unit.id) == User.unit_id)
                        .where(col(User.is_active).is_(True), col(User.role).in_([r.value for r in HOLDER_ROLES]))
                        .order_by(col(Unit.name), col(User.display_name))).all()
    return [(user, unit_name) for user, unit_name in rows]


def create_seat(session: Session, *, actor: Actor | None, position: str, title: str, unit_id: int | None,
                now: datetime) -> Seat:
    """A new seat (vacant), at the end of the roster."""
    _admin_only(actor)
    title = (title or "").strip()
    problems = []
    if position not in SeatPosition.__members__:
        problems.append({"field": "position", "zh": "职务不正确", "en": "unknown position"})
    if not title:
        problems.append({"field": "title", "zh": "请填写职务名称", "en": "the post's title is required"})
    elif len(title) > TITLE_MAX:
        problems.append({"field": "title", "zh": f"职务名称不超过 {TITLE_MAX} 字",
                         "en": f"at most {TITLE_MAX} characters"})
    unit = session.get(Unit, unit_id) if unit_id else None
    if unit_id and (unit is None or not unit.is_active):
        problems.append({"field": "unit_id", "zh": "单位不存在或已停用", "en": "no such active unit"})
    if problems:
        raise Unprocessable("；".join(p["zh"] for p in problems), "; ".join(p["en"] for p in problems),
                            details=problems)
    role, acting_unit_id = acting_for(session, position, unit)
    last = session.exec(select(sa.func.max(Seat.sort))).one()
    seat = Seat(position=position, title=title, unit_id=unit.id if unit else None, role=role,
                acting_unit_id=acting_unit_id, sort=(last or 0) + 10, created_at=now)
    session.add(seat)
    session.flush()
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "create_seat", "seat_id": seat.id, "position": position, "title": title,
                       "unit_id": seat.unit_id})
    return seat


def ensure_roster(session: Session, entries: Iterable[tuple[str, str, str | None]], now: datetime) -> int:
    """Create the roster's seats (position, title, unit name) when the database has none yet; the number made."""
    if session.exec(select(Seat.id).limit(1)).first() is not None:
        return 0
    units = {u.name: u for u in session.exec(select(Unit)).all()}
    made = 0
    for position, title, unit_name in entries:
        unit = units.get(unit_name) if unit_name else None
        if unit_name and unit is None:
            raise Unprocessable(f"名册中的单位“{unit_name}”不存在。", f"The roster names an unknown unit: {unit_name}.")
        create_seat(session, actor=None, position=position, title=title, unit_id=unit.id if unit else None, now=now)
        made += 1
    return made


def _seat(session: Session, seat_id: int) -> Seat:
    seat = session.get(Seat, seat_id) if 0 < seat_id <= 2**31 - 1 else None
    if seat is None:
        raise NotFound("席位不存在。", "No such seat.")
    return seat


def _holder(session: Session, user_id: int, field: str) -> User:
    user = session.get(User, user_id) if 0 < user_id <= 2**31 - 1 else None
    if user is None or not user.is_active:
        raise Unprocessable("所选人员不存在或账户已停用。", "No such active account.",
                            details=[{"field": field, "zh": "请选择在用的账户", "en": "choose an active account"}])
    if user.role not in HOLDER_ROLES:
        raise Unprocessable("系统管理员和安全审计员账户不能担任领导小组席位（三员分立）。",
                            "Administrator and auditor accounts cannot hold a seat (separation of duties).",
                            details=[{"field": field, "zh": "请选择业务账户", "en": "choose a business account"}])
    return user


def assign(session: Session, *, actor: Actor, seat_id: int, user_id: int, now: datetime) -> Seat:
    """A vacant seat taken by a user."""
    _admin_only(actor)
    seat = _seat(session, seat_id)
    if not seat.is_active:
        raise Conflict("该席位已停用。", "The seat is no longer in use.")
    if seat.holder_id is not None:
        raise Conflict("该席位已有人担任，请用“交接”把它交给继任者。",
                       "The seat is held; hand it over to the successor instead.")
    user = _holder(session, user_id, "user_id")
    seat.holder_id, seat.held_since = user.id, now
    session.add(seat)
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "assign_seat", "seat_id": seat.id, "title": seat.title, "user_id": user.id,
                       "username": user.username})
    return seat


@dataclass(frozen=True)
class Handover:
    seat: Seat
    predecessor: User
    successor: User
    notices_moved: int
    messages_moved: int


def hand_over(session: Session, *, actor: Actor, seat_id: int, successor_id: int, now: datetime,
              note: str = "") -> Handover:
    """The seat passes to its successor with its pending work; the trail keeps who held it when.

    Pending work is what reached the predecessor through this seat only: unread notices and messages not yet sent
    about open cases that the seat may see and that none of the predecessor's other roles may see. They move to
    the successor; the predecessor's sessions acting in the seat go back to their own role."""
    _admin_only(actor)
    seat = _seat(session, seat_id)
    if not seat.is_active:
        raise Conflict("该席位已停用。", "The seat is no longer in use.")
    if seat.holder_id is None:
        raise Conflict("该席位空缺，请直接指定担任人员。", "The seat is vacant; assign it instead.")
    if seat.holder_id == successor_id:
        raise Unprocessable("继任者与现任者相同。", "The successor is the present holder.",
                            details=[{"field": "successor_id", "zh": "请选择另一人", "en": "choose someone else"}])
    predecessor = session.get(User, seat.holder_id)
    assert predecessor is not None  # a foreign key
    successor = _holder(session, successor_id, "successor_id")
    seat.holder_id, seat.held_since = successor.id, now
    session.add(seat)
    session.flush()
    seat_actor = Actor(user_id=None, name=seat.title, role=seat.role, unit_id=seat.acting_unit_id, unit_name=None)
    still = [Actor(user_id=None, name="", role=i.role, unit_id=i.unit_id, unit_name=None)
             for i in identities(session, predecessor)]
    open_cases = select(Case.id).where(col(Case.closed_at).is_(None), case_filter(seat_actor),
                                       *(sa.not_(case_filter(a)) for a in still))
    notices = session.exec(select(Notification).where(
        Notification.user_id == predecessor.id, col(Notification.read_at).is_(None),
        col(Notification.case_id).in_(open_cases))).all()
    for notice in notices:
        notice.user_id = successor.id  # type: ignore[assignment]  # SQLModel types an id as optional; this row is saved
        notice.source_key = f"{notice.source_key[:100]}>seat{seat.id}:{successor.id}"[-120:]
        session.add(notice)
    messages = session.exec(select(OutboxMessage).where(
        OutboxMessage.user_id == predecessor.id, OutboxMessage.status == OutboxStatus.queued,
        col(OutboxMessage.case_id).in_(open_cases))).all()
    for message in messages:
        message.user_id = successor.id  # type: ignore[assignment]  # SQLModel types an id as optional; this row is saved
        message.idempotency_key = f"{message.idempotency_key[:170]}>seat{seat.id}:{successor.id}"[-200:]
        message.address = None
        session.add(message)
    for row in session.exec(select(LoginSession).where(LoginSession.user_id == predecessor.id,
                                                       LoginSession.acting_seat_id == seat.id)).all():
        row.acting_seat_id = None
        session.add(row)
    audit.record(session, kind="seat_handed_over", now=now, actor=actor, comment=note.strip()[:500] or None,
                 data={"seat_id": seat.id, "position": seat.position, "title": seat.title,
                       "from_user_id": predecessor.id, "from": predecessor.display_name,
                       "to_user_id": successor.id, "to": successor.display_name,
                       "notices_moved": len(notices), "messages_moved": len(messages)})
    return Handover(seat, predecessor, successor, len(notices), len(messages))


def vacate(session: Session, *, actor: Actor, seat_id: int, now: datetime, note: str = "") -> Seat:
    """The holder leaves the seat before a successor is named; their sessions acting in it end acting in it."""
    _admin_only(actor)
    seat = _seat(session, seat_id)
    if seat.holder_id is None:
        raise Conflict("该席位已空缺。", "The seat is already vacant.")
    holder = seat.holder_id
    seat.holder_id, seat.held_since = None, None
    session.add(seat)
    for row in session.exec(select(LoginSession).where(LoginSession.acting_seat_id == seat.id)).all():
        row.acting_seat_id = None
        session.add(row)
    audit.record(session, kind="admin_change", now=now, actor=actor, comment=note.strip()[:500] or None,
                 data={"action": "vacate_seat", "seat_id": seat.id, "title": seat.title, "user_id": holder})
    return seat


def set_seat_active(session: Session, *, actor: Actor, seat_id: int, active: bool, now: datetime) -> Seat:
    """A seat the roster no longer has is made inactive (never deleted: the trail names it); it must be vacant."""
    _admin_only(actor)
    seat = _seat(session, seat_id)
    if seat.is_active == active:
        return seat
    if not active and seat.holder_id is not None:
        raise Conflict("请先让该席位空缺或交接，再停用。", "Vacate or hand over the seat before retiring it.")
    seat.is_active = active
    session.add(seat)
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "activate_seat" if active else "retire_seat", "seat_id": seat.id,
                       "title": seat.title})
    return seat


# --- acting in a seat ------------------------------------------------------------------------------------------


def identities(session: Session, user: User) -> list[Identity]:
    """How `user` may act: their account's own role first, then each active seat they hold, in roster order.

    A seat that would act exactly as the account does (a county's liaison who is the county's clerk) adds
    nothing and is left out."""
    unit = session.get(Unit, user.unit_id)
    own = Identity(None, user.role, user.unit_id, unit.name if unit else "", None, None)
    found = [own]
    rows = session.exec(select(Seat, Unit).join(Unit, col(Unit.id) == Seat.acting_unit_id)
                        .where(Seat.holder_id == user.id, col(Seat.is_active).is_(True))
                        .order_by(col(Seat.sort), col(Seat.id))).all()
    seen = {(own.role, own.unit_id)}
    for seat, acting_unit in rows:
        if (seat.role, seat.acting_unit_id) in seen:
            continue
        seen.add((seat.role, seat.acting_unit_id))
        found.append(Identity(seat.id, seat.role, seat.acting_unit_id, acting_unit.name, seat.position, seat.title))
    return found


def held_seat(session: Session, user: User, seat_id: int | None) -> tuple[Seat, Unit] | None:
    """The seat a session acts in, while the user still holds it and it is in use; None otherwise."""
    if seat_id is None:
        return None
    row = session.exec(select(Seat, Unit).join(Unit, col(Unit.id) == Seat.acting_unit_id)
                       .where(Seat.id == seat_id, Seat.holder_id == user.id, col(Seat.is_active).is_(True))).first()
    return (row[0], row[1]) if row else None


def act_as(session: Session, *, user: User, login: LoginSession, seat_id: int | None, now: datetime,
           ip: str | None = None) -> Identity:
    """The session acts from now on in a seat the user holds (or, with None, in the account's own role)."""
    choices = {i.seat_id: i for i in identities(session, user)}
    if seat_id not in choices:
        raise Unprocessable("您未担任该席位。", "You do not hold that seat.",
                            details=[{"field": "seat_id", "zh": "请选择您担任的席位", "en": "choose a seat you hold"}])
    chosen = choices[seat_id]
    if login.acting_seat_id != seat_id:
        login.acting_seat_id = seat_id
        session.add(login)
        unit = session.get(Unit, user.unit_id)
        audit.record(session, kind="acting_changed", now=now, actor=Actor.of(user, unit, ip),
                     data={"seat_id": seat_id, "role": chosen.role, "unit_id": chosen.unit_id,
                           "title": chosen.title, "via": login.kind})
    return chosen


def acting_actor(user: User, unit: Unit | None, seat: Seat | None, ip: str | None = None) -> Actor:
    """The Actor of a request: the account's own (`unit` the account's), or the seat's role and unit (`unit` the
    one the seat acts for)."""
    if seat is None:
        return Actor.of(user, unit, ip)
    return Actor(user_id=user.id, name=user.display_name, role=seat.role, unit_id=seat.acting_unit_id,
                 unit_name=unit.name if unit else None, ip=ip)


# --- the roster as printed -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterLine:
    seat: Seat
    unit: Unit | None
    holder: User | None


def active_units(session: Session) -> list[Unit]:
    """The units a new seat may come from, by kind and name."""
    return list(session.exec(select(Unit).where(col(Unit.is_active).is_(True))
                             .order_by(col(Unit.kind), col(Unit.name))).all())


def bodies(session: Session) -> tuple[Unit | None, Unit | None]:
    """(the leading group, its office), for the roster's headings."""
    def first(kind: UnitKind) -> Unit | None:
        return session.exec(select(Unit).where(Unit.kind == kind.value).order_by(col(Unit.id))).first()
    return first(UnitKind.leading_group), first(UnitKind.office)


def roster_line(session: Session, seat_id: int) -> RosterLine:
    """One seat with its unit and holder; NotFound for an unknown seat."""
    seat = _seat(session, seat_id)
    return RosterLine(seat, session.get(Unit, seat.unit_id) if seat.unit_id else None,
                      session.get(User, seat.holder_id) if seat.holder_id else None)


def roster(session: Session, *, include_inactive: bool = False) -> dict[str, list[RosterLine]]:
    """The seats by position, in roster order, with their units and holders (vacant seats too)."""
    query = (select(Seat, Unit, User).join(Unit, col(Unit.id) == Seat.unit_id, isouter=True)
             .join(User, col(User.id) == Seat.holder_id, isouter=True).order_by(col(Seat.sort), col(Seat.id)))
    if not include_inactive:
        query = query.where(col(Seat.is_active).is_(True))
    by_position: dict[str, list[RosterLine]] = {p.value: [] for p in SeatPosition}
    for seat, unit, holder in session.exec(query).all():
        by_position.setdefault(seat.position, []).append(RosterLine(seat, unit, holder))
    return by_position
