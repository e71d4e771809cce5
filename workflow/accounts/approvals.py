"""Four eyes on access to case data (三员分立 without a back door): the administrator manages accounts but cannot
give anyone, itself included, a way into the cases alone. A new account with a business role (county, office,
member unit, leader) or a new password for one takes effect only when a second person approves it: the security
auditor, or the office's users, as ZYZ_ACCOUNT_APPROVER says (`none`: at once, as before).

Until then a new account is disabled, with a random password nobody knows, and a reset changes nothing. On approval
the system makes a one-time password and sends it to the user's own e-mail address and mobile number through the
outbox, sealed while it waits there (workflow.core.sealing); no page shows it to anyone. Nobody decides a request
they made or one about their own account. Each request, approval and rejection is an audit event naming who and
which account, never the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.accounts.auth import DEFAULT_POLICY, Policy, end_all_sessions, hash_password, initial_password
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import AccountRequest, OutboxMessage, OutboxStatus, Role, Unit, User
from workflow.core.queries import Page, paginate
from workflow.core.sealing import FIXED_ADDRESS, sealed_param
from workflow.core.settings import settings

BUSINESS_ROLES = (Role.county.value, Role.office.value, Role.member.value, Role.leader.value)
KINDS = ("create", "reset")
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
TEMPLATE = "account_password"  # notifications/templates/<zh|en>/account_password.*
MAX_COMMENT = 500


def approver() -> str:
    """auditor | office | none (ZYZ_ACCOUNT_APPROVER)."""
    return settings.account_approver


def needs_approval(role: str) -> bool:
    """Whether an account of this role is created, or its password reset, only on a second person's approval."""
    return approver() != "none" and role in BUSINESS_ROLES


def refuse_without_approval(role: str) -> None:
    """The server's shell makes an account at once (`zyz users create`): while business accounts need a second
    person's approval, it makes none with a business role, which the administrator asks for on the account pages."""
    if needs_approval(role):
        raise Forbidden("业务账户须经审批后开通：请管理员在“用户管理”页面新建账户，由审批人批准后生效。",
                        "A business account opens only on approval: the administrator creates it on the account "
                        "pages and the approver approves it.", code="needs_approval")


def approver_role() -> str:
    """The role that decides requests: the office's users when so configured, else the security auditor (who also
    decides what was left pending when the approval was switched off)."""
    return Role.office.value if approver() == "office" else Role.auditor.value


def may_decide(actor: Actor) -> bool:
    return actor.role == approver_role()


def mask_mobile(mobile: str) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 11 else "****"


def mask_email(address: str) -> str:
    """The first character of the name and the domain: z***@yq.gov.cn."""
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def destinations(user: User) -> list[tuple[str, str]]:
    """Where the password of this user goes, masked: [(channel, shown address)]."""
    found = []
    if user.email:
        found.append(("email", mask_email(user.email)))
    if user.mobile:
        found.append(("sms", mask_mobile(user.mobile)))
    return found


def contact_required(email: str | None, mobile: str | None) -> None:
    """A password is delivered to the user's own address: an account that needs approval must have one."""
    if (email or "").strip() or (mobile or "").strip():
        return
    zh = "需经审批的账户须填写手机号码或电子邮箱：审批通过后，一次性密码只发送给用户本人"
    en = "an account that needs approval must have a mobile number or an e-mail address: once approved, the " \
         "one-time password is sent to the user alone"
    raise Unprocessable(zh, en, code="contact_required",
                        details=[{"field": "email", "zh": zh, "en": en}, {"field": "mobile", "zh": zh, "en": en}])


def pending_request(session: Session, user_id: int) -> AccountRequest | None:
    return session.exec(select(AccountRequest).where(AccountRequest.user_id == user_id,
                                                     AccountRequest.status == PENDING)).first()


def latest_request(session: Session, user_id: int) -> AccountRequest | None:
    """The account's most recent request (pending or decided), as the administrator's page shows it."""
    return session.exec(select(AccountRequest).where(AccountRequest.user_id == user_id)
                        .order_by(col(AccountRequest.id).desc())).first()


def has_pending_create(session: Session, user_id: int) -> bool:
    found = pending_request(session, user_id)
    return found is not None and found.kind == "create"


def request_change(session: Session, *, actor: Actor, user: User, kind: str, now: datetime) -> AccountRequest:
    """Ask for approval of a new account or a password reset (called by the account services)."""
    if kind not in KINDS:
        raise ValueError(kind)
    already = Conflict("该账户已有一项申请正在等待审批，审批或驳回后才能再提出。",
                       "This account already has a request waiting for approval; wait until it is decided.",
                       code="request_pending")
    if pending_request(session, user.id) is not None:  # type: ignore[arg-type]  # a saved user has its id
        raise already
    contact_required(user.email, user.mobile)
    row = AccountRequest(kind=kind, user_id=user.id, requested_by=actor.user_id, requested_at=now,  # type: ignore[arg-type]  # a saved user has its id; the administrator is a user
                         status=PENDING)
    try:
        with session.begin_nested():  # two requests at once: the pending one's unique index lets one through
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        raise already from None
    audit.record(session, kind="account_requested", now=now, actor=actor,
                 data={"request_id": row.id, "request": kind, "user_id": user.id, "username": user.username,
                       "role": user.role, "approver": approver_role()})
    return row


@dataclass(frozen=True)
class RequestRow:
    """A request as the approver's list shows it."""

    request: AccountRequest
    user: User
    unit_name: str | None
    requester: str
    destinations: list[tuple[str, str]]


def _approver_only(actor: Actor) -> None:
    if not may_decide(actor):
        raise Forbidden("只有指定的审批人可以审批账户申请。", "Only the designated approver decides account requests.",
                        code="not_approver")


def _rows(session: Session, requests: list[AccountRequest]) -> list[RequestRow]:
    ids = {r.user_id for r in requests} | {r.requested_by for r in requests}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}
    units = dict(session.exec(select(Unit.id, Unit.name).where(
        col(Unit.id).in_({u.unit_id for u in users.values()}))).all())
    return [RequestRow(request=r, user=users[r.user_id], unit_name=units.get(users[r.user_id].unit_id),
                       requester=f"{users[r.requested_by].display_name}（{users[r.requested_by].username}）",
                       destinations=destinations(users[r.user_id])) for r in requests]


def list_pending(session: Session, *, actor: Actor, page: int = 1, per_page: int = 20) -> Page[RequestRow]:
    """One page of the requests waiting for a decision, oldest first."""
    _approver_only(actor)
    query = select(AccountRequest).where(AccountRequest.status == PENDING).order_by(col(AccountRequest.id))
    found = paginate(session, query, page, per_page)
    return Page(_rows(session, found.items), found.total, found.page, found.per_page)


def get_request(session: Session, *, actor: Actor, request_id: int) -> RequestRow:
    _approver_only(actor)
    row = session.get(AccountRequest, request_id) if 0 < request_id <= 2**31 - 1 else None
    if row is None:
        raise NotFound("申请不存在。", "No such request.")
    return _rows(session, [row])[0]


def own_interest(actor: Actor, request: AccountRequest) -> tuple[str, str] | None:
    """Why this approver may not decide this request (四眼原则), or None."""
    if actor.user_id == request.requested_by:
        return "不能审批自己提出的申请。", "You cannot decide a request you made yourself."
    if actor.user_id == request.user_id:
        return "不能审批与自己账户有关的申请。", "You cannot decide a request about your own account."
    return None


def decide(session: Session, *, actor: Actor, request_id: int, approve: bool, confirmed: bool,
           comment: str | None, now: datetime, policy: Policy = DEFAULT_POLICY) -> AccountRequest:
    """Approve or reject a pending request. Approving makes a one-time password and queues it to the user's own
    e-mail address and mobile number (a new account becomes active; a reset ends the user's sessions);
    rejecting leaves the account as it was (a new one stays disabled)."""
    found = get_request(session, actor=actor, request_id=request_id)
    request, user = found.request, found.user
    if request.status != PENDING:
        raise Conflict("该申请已经处理过了。", "This request has already been decided.", code="decided")
    refusal = own_interest(actor, request)
    if refusal is not None:
        raise Forbidden(*refusal, code="own_request")
    comment = (comment or "").strip() or None
    problems: list[dict[str, Any]] = []
    if not confirmed:
        problems.append({"field": "confirm", "zh": "请勾选确认：此操作不可撤销", "en": "tick the confirmation: this "
                         "cannot be undone"})
    if not approve and comment is None:
        problems.append({"field": "comment", "zh": "驳回时请填写理由", "en": "give the reason for the rejection"})
    if comment is not None and len(comment) > MAX_COMMENT:
        problems.append({"field": "comment", "zh": f"意见不能超过{MAX_COMMENT}个字",
                         "en": f"at most {MAX_COMMENT} characters"})
    if approve and not (user.email or user.mobile):
        problems.append({"field": "", "zh": "该用户没有手机号码或电子邮箱，密码无法送达本人；请管理员先补充联系方式",
                         "en": "the user has neither a mobile number nor an e-mail address: the password cannot "
                               "reach them; the administrator must add one first"})
    if problems:
        raise Unprocessable("；".join(p["zh"] for p in problems), "; ".join(p["en"] for p in problems),
                            details=problems)
    # two approvers at once: the one whose update finds the request still pending decides it
    decided = session.connection().execute(
        sa.update(AccountRequest).where(col(AccountRequest.id) == request.id, col(AccountRequest.status) == PENDING)
        .values(status=APPROVED if approve else REJECTED, decided_by=actor.user_id, decided_at=now, comment=comment))
    if decided.rowcount != 1:
        raise Conflict("该申请已经处理过了。", "This request has already been decided.", code="decided")
    session.refresh(request)
    data: dict[str, Any] = {"request_id": request.id, "request": request.kind, "user_id": user.id,
                            "username": user.username, "role": user.role, "requested_by": request.requested_by}
    if comment:
        data["comment"] = comment
    if not approve:
        audit.record(session, kind="account_request_rejected", now=now, actor=actor, data=data)
        return request
    password = initial_password(policy)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = now
    if request.kind == "create":
        user.is_active = True
    session.add(user)
    session.flush()
    if request.kind == "reset":
        data["sessions_ended"] = end_all_sessions(session, user_id=user.id, reason="password_reset", now=now)  # type: ignore[arg-type]  # a saved user has its id
    data["sent_to"] = [channel for channel, _shown in destinations(user)]
    _deliver(session, request=request, user=user, password=password, now=now)
    audit.record(session, kind="account_request_approved", now=now, actor=actor, data=data)
    return request


def _deliver(session: Session, *, request: AccountRequest, user: User, password: str, now: datetime) -> None:
    """Queue the password to each of the user's own addresses, sealed (never in clear in the database)."""
    source = f"account_request:{request.id}"
    # The address is fixed now, as the approver saw it: a contact detail changed after the approval cannot send
    # the password elsewhere (FIXED_ADDRESS tells the dispatcher to keep it).
    params = {"username": user.username, "kind": request.kind, FIXED_ADDRESS: True,
              **sealed_param(source, "password", password)}
    for channel, _shown in destinations(user):
        session.add(OutboxMessage(idempotency_key=f"{source}:u{user.id}:{channel}", source=source, rule=TEMPLATE,
                                  template=TEMPLATE, category="event", channel=channel, user_id=user.id,  # type: ignore[arg-type]  # a saved user has its id
                                  params=params, status=OutboxStatus.queued.value, attempts=0, retries=0,
                                  address=user.email if channel == "email" else user.mobile,
                                  next_attempt_at=now, created_at=now))

