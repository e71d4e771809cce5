"""The second login factor: TOTP (RFC 6238), or for a user without an authenticator app codes sent by SMS, each with
one-use recovery codes; the per-role policy with its grace period for enrolment; and the check of a code at login,
which counts towards the same lockout as a wrong password.

A login of an enrolled user takes two steps (the password, then a code); the session starts only after both
(`begin_session`). The secret is kept as the authenticator app has it: it must be readable to check a code."""

from __future__ import annotations

import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from sqlmodel import Session, col, select

from workflow.accounts.auth import (
    DEFAULT_POLICY,
    HASHER,
    PasswordChangeRequired,
    Policy,
    WrongCurrentPassword,
    _count_failure,
    _locked,
    _verify,
    actor_for,
    check_current_password,
    complete_login,
    end_all_sessions,
    has_second_factor,
    start_session,
)
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import is_sqlite, table_of
from workflow.core.errors import AuthError, Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import HUMAN_ROLES, LoginSession, RecoveryCode, Role, Seat, SecondFactor, User

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # a code of the step before or after is taken too: a phone's clock a little off
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
_RECOVERY_LENGTH = 10  # shown as two groups of five; about 50 bits
ISSUER = "阳泉专业镇"
SMS_CODE_LIFETIME = timedelta(minutes=5)
SMS_RESEND_AFTER = timedelta(seconds=60)
# The roles that must use a second factor in production unless ZYZ_2FA_REQUIRED says otherwise.
PRODUCTION_REQUIRED = frozenset({Role.office.value, Role.leader.value, Role.admin.value, Role.auditor.value})
DEFAULT_GRACE = timedelta(days=14)


@dataclass(frozen=True)
class FactorPolicy:
    """Who must log in with a second factor (by role), and how long a user has to enrol once it applies."""

    required_roles: frozenset[str] = frozenset()
    grace: timedelta = DEFAULT_GRACE


def parse_roles(raw: str) -> frozenset[str]:
    """The roles of a comma-separated list (ZYZ_2FA_REQUIRED); ValueError names one that does not exist."""
    roles = frozenset(part.strip().lower() for part in raw.split(",") if part.strip())
    unknown = sorted(roles - {r.value for r in HUMAN_ROLES})
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; the roles are {', '.join(r.value for r in HUMAN_ROLES)}")
    return roles


@dataclass(frozen=True)
class SmsCode:
    """A code to send by SMS after the transaction that stored its hash commits."""

    user_id: int
    mobile: str
    code: str
    expires_at: datetime


class SmsCodeSent(AuthError):
    """A token request of an SMS user without `otp`: a code is on its way (sent once the refusal is committed)."""

    code = "otp_sent"

    def __init__(self, sms: SmsCode):
        super().__init__(f"验证码已通过短信发送至 {_masked(sms.mobile)}，请在 otp 字段提供。",
                         f"A code was sent by SMS to {_masked(sms.mobile)}: send it in the otp field.")
        self.sms = sms


def _masked(mobile: str) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 11 else "****"


@dataclass(frozen=True)
class Standing:
    """Where a user stands with the policy: `enrolled`, `not_required`, `grace` (invited until `enrol_by_at`, or
    from the next login when it has not started) or `overdue` (nothing but the enrolment page)."""

    status: str
    enrol_by_at: datetime | None = None

    def as_of(self, now: datetime) -> Standing:
        """The same standing at `now`: a grace period whose date has come is over."""
        if self.status == "grace" and self.enrol_by_at is not None and now >= self.enrol_by_at:
            return Standing("overdue", self.enrol_by_at)
        return self


def factor_of(session: Session, user_id: int) -> SecondFactor | None:
    return session.exec(select(SecondFactor).where(SecondFactor.user_id == user_id)).first()


def roles_of(session: Session, user: User) -> set[str]:
    """The roles the user may act in: the account's own and those of the roster seats they hold."""
    held = session.exec(select(Seat.role).where(Seat.holder_id == user.id, col(Seat.is_active).is_(True))).all()
    return {user.role, *held}


def standing(session: Session, *, user: User, factors: FactorPolicy, now: datetime) -> Standing:
    """The user's standing under the policy; reads only (a page view writes nothing)."""
    if not factors.required_roles:
        return Standing("not_required")
    row = factor_of(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if row is not None and row.confirmed_at is not None:
        return Standing("enrolled")
    if not roles_of(session, user) & factors.required_roles:
        return Standing("not_required")
    return Standing("grace", row.enrol_by_at if row is not None else None).as_of(now)


def _row(session: Session, user: User, now: datetime) -> SecondFactor:
    row = factor_of(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if row is None:
        row = SecondFactor(user_id=user.id, updated_at=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    return row


def begin_session(session: Session, *, user: User, kind: str, ip: str | None, now: datetime,
                  factors: FactorPolicy, factor: str | None = None,
                  policy: Policy = DEFAULT_POLICY) -> tuple[str, LoginSession]:
    """The session (web) or token (api) of a login that passed every factor it needs (`factor`: the second one
    used, None for a user without one). The first login under the policy starts the grace period; a token is
    refused to a user whose grace has run out (the web pages are the one place to enrol), and one issued in the
    grace period ends with it."""
    found = standing(session, user=user, factors=factors, now=now)
    enrol_by = found.enrol_by_at
    if found.status == "grace" and enrol_by is None:
        row = _row(session, user, now)
        row.enrol_by_at = enrol_by = now + factors.grace
        row.updated_at = now
        session.add(row)
        audit.record(session, kind="second_factor_required", now=now, actor=actor_for(session, user, ip),
                     data={"enrol_by": row.enrol_by_at})
    elif found.status == "overdue" and kind == "api":
        audit.record(session, kind="login_failed", now=now, actor=actor_for(session, user, ip),
                     data={"username": user.username, "reason": "second_factor_enrolment_required"})
        raise PasswordChangeRequired("请先在网页上启用两步验证，再申请 API 令牌。",
                                     "Set up two-step verification on the web pages before asking for an API token.",
                                     code="second_factor_enrolment_required")
    return start_session(session, user=user, kind=kind, ip=ip, now=now, policy=policy, factor=factor,
                         until=enrol_by if found.status == "grace" and kind == "api" else None)


# --- enrolment --------------------------------------------------------------------------------------------------


def begin_enrolment(session: Session, *, user: User, now: datetime, actor: Actor) -> str:
    """A new secret for the user's authenticator app (replacing one not yet confirmed); returns it."""
    row = _row(session, user, now)
    if row.confirmed_at is not None:
        raise Conflict("两步验证已经启用；如需更换手机，请联系系统管理员重置。",
                       "Two-step verification is already set up; ask the administrator to reset it for a new phone.")
    row.method = "totp"
    row.totp_secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    row.last_step = None
    row.sms_code_hash = row.sms_code_expires_at = None
    row.updated_at = now
    session.add(row)
    return row.totp_secret


def begin_sms_enrolment(session: Session, *, user: User, now: datetime, actor: Actor) -> SmsCode:
    """Codes by SMS to the mobile number on the account instead of an app: the first code, to confirm with."""
    row = _row(session, user, now)
    if row.confirmed_at is not None:
        raise Conflict("两步验证已经启用；如需更换方式，请联系系统管理员重置。",
                       "Two-step verification is already set up; ask the administrator to reset it to change it.")
    if not user.mobile:
        raise Unprocessable("账户没有登记手机号码，无法使用短信验证码；请联系系统管理员登记，或使用手机应用。",
                            "The account has no mobile number for SMS codes: ask the administrator to add it, or use "
                            "an app.")
    if row.method != "sms":
        row.sms_sent_at = None
    row.method = "sms"
    row.totp_secret = None
    row.last_step = None
    session.add(row)
    return _issue_sms_code(session, row=row, user=user, now=now, actor=actor)


def _issue_sms_code(session: Session, *, row: SecondFactor, user: User, now: datetime, actor: Actor) -> SmsCode:
    """A new code for the SMS method (the one sent before stops working), one a minute at most."""
    if row.sms_sent_at is not None and now - row.sms_sent_at < SMS_RESEND_AFTER:
        wait = math.ceil((SMS_RESEND_AFTER - (now - row.sms_sent_at)).total_seconds())
        raise Conflict(f"验证码刚刚发送过，请 {wait} 秒后再试。", f"A code was just sent: try again in {wait} seconds.",
                       code="sms_too_soon")
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    row.sms_code_hash = HASHER.hash(code)
    row.sms_code_expires_at = now + SMS_CODE_LIFETIME
    row.sms_sent_at = now
    row.updated_at = now
    session.add(row)
    assert user.mobile is not None and user.id is not None  # an SMS user has a mobile number; the row is saved
    audit.record(session, kind="sms_code_sent", now=now, actor=actor, data={"mobile": _masked(user.mobile)})
    return SmsCode(user.id, user.mobile, code, row.sms_code_expires_at)


def login_sms_code(session: Session, *, user: User, now: datetime, ip: str | None) -> SmsCode | None:
    """The code an SMS user's login sends after the right password (None for an app user, or when one was sent
    less than a minute ago: that one still works)."""
    row = factor_of(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if row is None or row.method != "sms" or row.confirmed_at is None or not user.mobile:
        return None
    try:
        return _issue_sms_code(session, row=row, user=user, now=now, actor=actor_for(session, user, ip))
    except Conflict:
        return None


def resend_sms_code(session: Session, *, user: User, now: datetime, ip: str | None) -> SmsCode:
    """Another code for an SMS user waiting at the code page; Conflict within a minute of the last one."""
    row = factor_of(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if row is None or row.method != "sms" or not user.mobile:
        raise Conflict("该账户不使用短信验证码。", "This account does not use SMS codes.")
    return _issue_sms_code(session, row=row, user=user, now=now, actor=actor_for(session, user, ip))


def _sms_code_matches(row: SecondFactor, code: str, now: datetime) -> bool:
    """Whether `code` is the unexpired code last sent; it is used up when it is."""
    if row.sms_code_hash is None or row.sms_code_expires_at is None or now >= row.sms_code_expires_at:
        return False
    if not re.fullmatch(rf"[0-9]{{{DIGITS}}}", code) or not _verify(row.sms_code_hash, code):
        return False
    row.sms_code_hash = row.sms_code_expires_at = None
    return True


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address the QR code carries (Key URI Format, read by every authenticator app)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def confirm_enrolment(session: Session, *, user: User, code: str, now: datetime, actor: Actor) -> list[str]:
    """Turn the second factor on once a first code from the app matches; returns the recovery codes, to be
    shown once (only their hashes are kept)."""
    row = factor_of(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if row is None or (row.totp_secret is None and row.sms_code_hash is None):
        raise Conflict("请先开始设置两步验证。", "Start setting up two-step verification first.")
    if row.confirmed_at is not None:
        raise Conflict("两步验证已经启用。", "Two-step verification is already set up.")
    if row.method == "sms":
        if not _sms_code_matches(row, _normalised(code), now):
            raise Unprocessable("验证码不正确或已过期，请输入短信中的 6 位数字，或重新发送。",
                                "Wrong or expired code: enter the 6 digits of the SMS, or send another.",
                                details=[{"field": "code", "zh": "验证码不正确或已过期",
                                          "en": "wrong or expired code"}])
        step = None
    else:
        step = _matching_step(row.totp_secret or "", _normalised(code), now)
    if step is None and row.method == "totp":
        raise Unprocessable("验证码不正确，请输入手机应用当前显示的 6 位数字。",
                            "Wrong code: enter the 6 digits the app shows now.",
                            details=[{"field": "code", "zh": "验证码不正确", "en": "wrong code"}])
    row.confirmed_at = now
    row.last_step = step
    row.updated_at = now
    session.add(row)
    codes = _new_recovery_codes(session, user, now)
    audit.record(session, kind="second_factor_enrolled", now=now, actor=actor,
                 data={"method": row.method, "recovery_codes": len(codes)})
    return codes


def _new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.connection().execute(table_of(RecoveryCode).delete().where(table_of(RecoveryCode).c.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=HASHER.hash(raw), created_at=now))  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    session.flush()
    return codes


def recovery_codes_left(session: Session, user_id: int) -> int:
    table = table_of(RecoveryCode)
    return int(session.connection().execute(
        sa.select(sa.func.count()).where(table.c.user_id == user_id, table.c.used_at.is_(None))).scalar_one())


def regenerate_recovery_codes(session: Session, *, user: User, password: str, now: datetime, actor: Actor,
                              policy: Policy = DEFAULT_POLICY) -> list[str]:
    """Ten new recovery codes in place of all the old ones, for an enrolled user who gives the account's password
    (checked as a login is: a wrong one is a failed login, counted); returns them, to be shown once."""
    row = factor_of(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if row is None or row.confirmed_at is None:
        raise Conflict("两步验证尚未启用，没有可重新生成的恢复码。",
                       "Two-step verification is not on: there are no recovery codes to replace.")
    if not check_current_password(session, user=user, password=password, now=now, actor=actor,
                                  via="recovery_codes", policy=policy):
        raise WrongCurrentPassword("当前密码不正确。", "The current password is wrong.",
                                   details=[{"field": "password", "zh": "当前密码不正确",
                                             "en": "the current password is wrong"}])
    discarded = recovery_codes_left(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    codes = _new_recovery_codes(session, user, now)
    audit.record(session, kind="recovery_codes_regenerated", now=now, actor=actor,
                 data={"discarded_unused": discarded, "recovery_codes": len(codes)})
    return codes


# --- the code at login -----------------------------------------------------------------------------------------


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()[:32]


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (of now and DRIFT_STEPS either side) whose code is `code`, latest first; None if none."""
    if not re.fullmatch(rf"[0-9]{{{DIGITS}}}", code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current + DRIFT_STEPS, current - DRIFT_STEPS - 1, -1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def check_code(session: Session, *, user: User, code: str, ip: str | None, now: datetime,
               policy: Policy = DEFAULT_POLICY) -> str:
    """Check the second step of an enrolled user's login: a TOTP code not used before, or an unused recovery code
    (used up by this). Returns which ("totp" or "recovery"); AuthError otherwise, counted as a failed login
    towards the lockout. The failed-login counter starts afresh only when this step passes."""
    session.refresh(user, with_for_update=not is_sqlite(session))  # the counter as stored, held till commit
    actor = actor_for(session, user, ip)
    refused = AuthError("动态验证码不正确或已使用。", "The one-time code is wrong or was already used.",
                        code="bad_otp")
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, kind="login_failed", now=now, actor=actor,
                     data={"username": user.username, "reason": "locked", "via": "second_factor"})
        raise _locked()
    row = factor_of(session, user.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if not user.is_active or row is None or row.confirmed_at is None:
        raise AuthError("用户名或密码错误。", "Wrong username or password.", code="bad_credentials")
    entered = _normalised(code)
    reason, method = None, row.method
    if re.fullmatch(r"[0-9]+", entered) and row.method == "sms":
        if _sms_code_matches(row, entered, now):
            row.updated_at = now
            session.add(row)
        else:
            reason = "bad_otp"
    elif re.fullmatch(r"[0-9]+", entered):
        step = _matching_step(row.totp_secret or "", entered, now)
        if step is None:
            reason = "bad_otp"
        elif row.last_step is not None and step <= row.last_step:
            reason = "otp_reused"
        else:
            row.last_step = step
            row.updated_at = now
            session.add(row)
    else:
        method = "recovery"
        used = _use_recovery_code(session, user, entered, now)
        if used is None:
            reason = "bad_recovery_code"
        else:
            audit.record(session, kind="recovery_code_used", now=now, actor=actor,
                         data={"left": recovery_codes_left(session, user.id)})  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    if reason is not None:
        audit.record(session, kind="login_failed", now=now, actor=actor,
                     data={"username": user.username, "reason": reason, "via": "second_factor"})
        if _count_failure(user, now, policy):
            audit.record(session, kind="lockout", now=now, actor=actor, data={"until": user.locked_until})
        session.add(user)
        raise refused
    complete_login(user, now)
    session.add(user)
    return method


def token_factor(session: Session, *, user: User, code: str | None, ip: str | None, now: datetime,
                 policy: Policy = DEFAULT_POLICY) -> str | None:
    """The second step of a token request (its `otp`): None for a user without a second factor, the factor used
    otherwise; AuthError when the code is missing (audited, not counted: nothing was guessed) or wrong (counted)."""
    if not has_second_factor(session, user.id):  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        return None
    if not (code or "").strip():
        sms = login_sms_code(session, user=user, now=now, ip=ip)
        if sms is not None:
            raise SmsCodeSent(sms)
        audit.record(session, kind="login_failed", now=now, actor=actor_for(session, user, ip),
                     data={"username": user.username, "reason": "otp_missing", "via": "api"})
        raise AuthError("该账户已启用两步验证：请在 otp 字段提供手机应用显示的动态验证码或一个恢复码。",
                        "Two-step verification is on for this account: send the app's one-time code or a recovery "
                        "code in the otp field.", code="otp_required")
    return check_code(session, user=user, code=code or "", ip=ip, now=now, policy=policy)


def _use_recovery_code(session: Session, user: User, entered: str, now: datetime) -> RecoveryCode | None:
    if len(entered) != _RECOVERY_LENGTH:
        return None
    unused = session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                     col(RecoveryCode.used_at).is_(None))
                          .order_by(col(RecoveryCode.id))).all()
    for candidate in unused:
        if _verify(candidate.code_hash, entered):
            candidate.used_at = now
            session.add(candidate)
            session.flush()
            return candidate
    return None


# --- the administrator -----------------------------------------------------------------------------------------


def reset(session: Session, *, actor: Actor, user_id: int, now: datetime) -> None:
    """The administrator takes away a user's second factor (a lost phone): the secret and the recovery codes go,
    the user's sessions end, and a user the policy requires must enrol again at the next login, without a new
    grace period. An enrolment not yet confirmed is discarded the same way."""
    if actor.role != Role.admin:
        raise Forbidden("只有系统管理员可以管理账户。", "Only the administrator manages accounts.")
    user = session.get(User, user_id) if 0 < user_id <= 2**31 - 1 else None
    if user is None:
        raise NotFound("用户不存在。", "No such user.")
    if actor.user_id == user.id:
        raise Forbidden("不能重置自己的两步验证，请联系另一位系统管理员。",
                        "Another administrator resets your own two-step verification.", code="own_account")
    row = factor_of(session, user_id)
    if row is None or (row.totp_secret is None and row.confirmed_at is None and row.sms_code_hash is None):
        raise Conflict("该用户未设置两步验证，无需重置。", "This user has no two-step verification to reset.")
    was_enrolled = row.confirmed_at is not None
    row.totp_secret = row.sms_code_hash = row.sms_code_expires_at = None
    row.confirmed_at = None
    row.last_step = None
    row.method = "totp"
    if was_enrolled:
        row.enrol_by_at = now  # no second grace period
    row.updated_at = now
    session.add(row)
    codes = table_of(RecoveryCode)
    session.connection().execute(codes.delete().where(codes.c.user_id == user_id))
    ended = end_all_sessions(session, user_id=user_id, reason="second_factor_reset", now=now)
    audit.record(session, kind="second_factor_reset", now=now, actor=actor,
                 data={"user_id": user.id, "username": user.username, "was_enrolled": was_enrolled,
                       "sessions_ended": ended})
