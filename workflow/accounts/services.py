"""Account management by the administrator (三员分立): list, create, edit, disable and enable, unlock, reset a
password, end a user's sessions. Every change is an audit event; nobody changes their own role or locks
themselves out. Cases and the audit trail are not reachable from here: they belong to other roles. A business
account, new or with a new password, waits for a second person's approval when ZYZ_ACCOUNT_APPROVER asks for one
(workflow.accounts.approvals): the administrator then never sees its password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from workflow.accounts import approvals
from workflow.accounts.auth import (
    DEFAULT_POLICY,
    Policy,
    create_user,
    end_all_sessions,
    hash_password,
    initial_password,
)
from workflow.accounts.contacts import contact_problems, normalize_email, normalize_mobile
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import table_of
from workflow.core.errors import Forbidden, NotFound, Unprocessable
from workflow.core.models import HUMAN_ROLES, UNIT_KIND_ROLES, LoginSession, Role, Unit, UnitKind, User
from workflow.core.queries import Page, paginate

STATUSES = ("active", "disabled", "locked", "must_change_password")


@dataclass(frozen=True)
class AccountRow:
    """A user as the account list shows it."""

    user: User
    unit_name: str | None
    live_sessions: int
    is_locked: bool


def _admin_only(actor: Actor) -> None:
    if actor.role != Role.admin:
        raise Forbidden("只有系统管理员可以管理账户。", "Only the administrator manages accounts.")


def _not_self(actor: Actor, user: User, zh: str, en: str) -> None:
    if actor.user_id == user.id:
        raise Forbidden(zh, en, code="own_account")


def get_account(session: Session, *, actor: Actor, user_id: int) -> User:
    """The account with this id (administrator only); NotFound otherwise."""
    _admin_only(actor)
    user = session.get(User, user_id) if 0 < user_id <= 2**31 - 1 else None
    if user is None:
        raise NotFound("用户不存在。", "No such user.")
    return user


def list_accounts(session: Session, *, actor: Actor, now: datetime, text: str | None = None, role: str | None = None,
                  unit_id: int | None = None, status: str | None = None, page: int = 1,
                  per_page: int = 20) -> Page[AccountRow]:
    """One page of accounts, filtered by a text in the username or name, role, unit and status."""
    _admin_only(actor)
    query = select(User).order_by(User.id)  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(User.username.like(pattern, escape="\\"),  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
                                   User.display_name.like(pattern, escape="\\")))  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
    if role:
        query = query.where(User.role == role)
    if unit_id:
        query = query.where(User.unit_id == unit_id)
    if status == "active":
        query = query.where(User.is_active.is_(True))  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
    elif status == "disabled":
        query = query.where(User.is_active.is_(False))  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
    elif status == "locked":
        query = query.where(User.locked_until > now)  # type: ignore[operator]  # SQLModel types a column as its Python value, not a SQL expression
    elif status == "must_change_password":
        query = query.where(User.must_change_password.is_(True))  # type: ignore[attr-defined]  # SQLModel types a column as its Python value, not a SQL expression
    found = paginate(session, query, page, per_page)
    ids = [u.id for u in found.items]
    units = dict(session.exec(select(Unit.id, Unit.name).where(Unit.id.in_({u.unit_id for u in found.items}))).all())  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    table = table_of(LoginSession)
    live: dict[int, int] = dict(session.connection().execute(
        sa.select(table.c.user_id, sa.func.count()).where(table.c.user_id.in_(ids), table.c.ended_at.is_(None),
                                                          table.c.expires_at > now)
        .group_by(table.c.user_id)).all())
    rows = [AccountRow(user=u, unit_name=units.get(u.unit_id), live_sessions=int(live.get(u.id, 0)),
                       is_locked=u.locked_until is not None and u.locked_until > now) for u in found.items]
    return Page(rows, found.total, found.page, found.per_page)


def live_session_count(session: Session, *, user_id: int, now: datetime) -> int:
    """Sessions and tokens of a user that have not ended or expired."""
    table = table_of(LoginSession)
    return int(session.connection().execute(
        sa.select(sa.func.count()).where(table.c.user_id == user_id, table.c.ended_at.is_(None),
                                         table.c.expires_at > now)).scalar_one())


def create_account(session: Session, *, actor: Actor, username: str, display_name: str, role: str, unit_id: int,
                   now: datetime, email: str | None = None, mobile: str | None = None,
                   policy: Policy = DEFAULT_POLICY) -> tuple[User, str | None]:
    """A new account with a random one-time password, which it must change at its first login; returns the
    account and the password (shown once to the administrator, stored only as its hash).

    When the role needs approval the account is created disabled, its random password is known to nobody, and a
    request waits for the approver; the password returned is then None."""
    _admin_only(actor)
    pending = approvals.needs_approval(role)
    if pending:
        approvals.contact_required(email, mobile)
    password = initial_password(policy)
    user = create_user(session, username=username, display_name=display_name, role=role, unit_id=unit_id,
                       password=password, now=now, actor=actor, email=email, mobile=mobile,
                       must_change_password=True, policy=policy)
    if not pending:
        return user, password
    user.is_active = False
    session.add(user)
    approvals.request_change(session, actor=actor, user=user, kind="create", now=now)
    return user, None


def update_account(session: Session, *, actor: Actor, user_id: int, now: datetime, display_name: str,
                   email: str | None, mobile: str | None, unit_id: int, role: str) -> dict[str, Any]:
    """Change an account's name, contact details, unit and role; returns what changed (also in the audit event).

    A user cannot change their own role: the administrator's role is changed by another administrator."""
    user = get_account(session, actor=actor, user_id=user_id)
    problems: list[dict[str, Any]] = []
    display_name = (display_name or "").strip()
    if not display_name:
        problems.append({"field": "display_name", "zh": "请填写姓名", "en": "name is required"})
    elif len(display_name) > 100:
        problems.append({"field": "display_name", "zh": "姓名不能超过100个字", "en": "at most 100 characters"})
    problems += contact_problems(email=email, mobile=mobile)
    unit = session.get(Unit, unit_id) if 0 < unit_id <= 2**31 - 1 else None
    if role not in [r.value for r in HUMAN_ROLES]:
        problems.append({"field": "role", "zh": "角色不正确", "en": "unknown role"})
    if unit is None:
        problems.append({"field": "unit_id", "zh": "所属单位不存在", "en": "no such unit"})
    elif role in Role.__members__ and Role(role) not in UNIT_KIND_ROLES[UnitKind(unit.kind)]:
        problems.append({"field": "role", "zh": "角色与所属单位类型不符", "en": "the role does not fit the unit"})
    if problems:
        raise Unprocessable("；".join(p["zh"] for p in problems), "; ".join(p["en"] for p in problems),
                            details=problems)
    if role != user.role:
        _not_self(actor, user, "不能修改自己的角色。", "You cannot change your own role.")
        if approvals.needs_approval(role) and user.role not in approvals.BUSINESS_ROLES:
            zh = "系统管理员或安全审计员的账户不能改为业务角色：请新建业务账户，经审批后开通"
            raise Unprocessable(zh, "an administrator's or auditor's account cannot take a business role: create a "
                                "business account, which is opened on approval", code="needs_approval",
                                details=[{"field": "role", "zh": zh, "en": "an administrator's or auditor's account "
                                          "cannot take a business role; create a business account instead"}])
    new_contacts = {"email": normalize_email(email), "mobile": normalize_mobile(mobile)}
    if any(getattr(user, k) != v for k, v in new_contacts.items()) and \
            approvals.pending_request(session, user.id) is not None:  # type: ignore[arg-type]  # a saved user has its id
        zh = "该账户有待审批的申请，审批或驳回前不能修改联系方式（密码将发送至审批人看到的地址）"
        raise Unprocessable(zh, "the account has a request waiting for approval: its contact details cannot change "
                            "until it is decided (the password goes where the approver saw it go)",
                            code="request_pending", details=[{"field": k, "zh": zh, "en": "not while a request "
                                                              "is pending"} for k in ("email", "mobile")])
    new = {"display_name": display_name, "email": normalize_email(email), "mobile": normalize_mobile(mobile),
           "unit_id": unit_id, "role": role}
    changes = {k: [getattr(user, k), v] for k, v in new.items() if getattr(user, k) != v}
    if not changes:
        return {}
    for key, (_old, value) in changes.items():
        setattr(user, key, value)
    session.add(user)
    # contact details are personal data: the trail says that they changed, not what they are
    logged = {k: ("changed" if k in ("email", "mobile") else v) for k, v in changes.items()}
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "update_account", "user_id": user.id, "username": user.username, "changes": logged})
    return changes


def set_active(session: Session, *, actor: Actor, user_id: int, active: bool, now: datetime) -> User:
    """Disable an account (its sessions and tokens end at once) or enable it again."""
    user = get_account(session, actor=actor, user_id=user_id)
    _not_self(actor, user, "不能停用或启用自己的账户。", "You cannot disable or enable your own account.")
    if user.is_active == active:
        return user
    if active and approvals.has_pending_create(session, user.id):  # type: ignore[arg-type]  # a saved user has its id
        raise Forbidden("该账户的开通申请正在等待审批，审批通过后自动启用，不能直接启用。",
                        "This account's opening is waiting for approval: it is enabled when approved, not by hand.",
                        code="request_pending")
    user.is_active = active
    session.add(user)
    ended = 0 if active else end_all_sessions(session, user_id=user.id, reason="disabled", now=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    audit.record(session, kind="user_unlocked" if active else "user_locked", now=now, actor=actor,
                 data={"action": "enable" if active else "disable", "user_id": user.id, "username": user.username,
                       **({} if active else {"sessions_ended": ended})})
    return user


def unlock(session: Session, *, actor: Actor, user_id: int, now: datetime) -> User:
    """Lift a lockout after failed logins (the failure count starts afresh)."""
    user = get_account(session, actor=actor, user_id=user_id)
    _not_self(actor, user, "不能解锁自己的账户。", "You cannot unlock your own account.")
    was = user.locked_until
    user.locked_until = None
    user.failed_logins = 0
    session.add(user)
    audit.record(session, kind="user_unlocked", now=now, actor=actor,
                 data={"action": "unlock", "user_id": user.id, "username": user.username, "was_locked_until": was})
    return user


def reset_password(session: Session, *, actor: Actor, user_id: int, now: datetime,
                   policy: Policy = DEFAULT_POLICY) -> str | None:
    """A new one-time password, to be changed at the next login; the user's sessions and tokens end.

    For an account that needs approval nothing changes yet: a request waits for the approver, who has the password
    sent to the user; None then."""
    user = get_account(session, actor=actor, user_id=user_id)
    _not_self(actor, user, "请在“修改密码”页面修改自己的密码。", "Change your own password on the password page.")
    if approvals.needs_approval(user.role):
        approvals.request_change(session, actor=actor, user=user, kind="reset", now=now)
        return None
    password = initial_password(policy)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = now
    session.add(user)
    ended = end_all_sessions(session, user_id=user.id, reason="password_reset", now=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "reset_password", "user_id": user.id, "username": user.username,
                       "sessions_ended": ended})
    return password


def end_sessions(session: Session, *, actor: Actor, user_id: int, now: datetime) -> int:
    """End every session and token of a user at once (they log in again); the number ended."""
    user = get_account(session, actor=actor, user_id=user_id)
    _not_self(actor, user, "要结束自己的会话，请退出登录。", "To end your own session, log out.")
    ended = end_all_sessions(session, user_id=user.id, reason="ended_by_admin", now=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "end_sessions", "user_id": user.id, "username": user.username,
                       "sessions_ended": ended})
    return ended


def units_for_accounts(session: Session) -> list[Unit]:
    """Active units an account may belong to, counties first, as the forms list them."""
    order = sa.case({UnitKind.county.value: 0, UnitKind.office.value: 1, UnitKind.leading_group.value: 2},
                    value=Unit.kind, else_=3)
    return list(session.exec(select(Unit).where(Unit.is_active.is_(True)).order_by(order, Unit.id)).all())  # type: ignore[attr-defined,arg-type]  # SQLModel types a column as its Python value, not a SQL expression

