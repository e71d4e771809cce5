"""Accounts: password hashing and policy, login with lockout, server-side sessions and tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from workflow.accounts import throttle
from workflow.accounts.common_passwords import is_common
from workflow.accounts.contacts import contact_problems, normalize_email, normalize_mobile
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import is_sqlite, table_of
from workflow.core.errors import AuthError, Forbidden, NotFound, Unprocessable
from workflow.core.models import (
    HUMAN_ROLES,
    UNIT_KIND_ROLES,
    LoginSession,
    LoginThrottle,
    Role,
    SecondFactor,
    Unit,
    UnitKind,
    User,
)
from workflow.core.settings import settings

# argon2id at the OWASP Password Storage Cheat Sheet's first recommended setting (19 MiB, t=2, p=1).
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when the user does not exist, so that the answer takes as long as for a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Policy:
    """Login, session and password rules. The password rules come in two profiles (PROFILES), chosen by
    ZYZ_PASSWORD_POLICY: MLPS 2.0 practice (complexity, change every 90 days) or OWASP ASVS (length only)."""

    name: str = "mlps"
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    token_lifetime: timedelta = timedelta(hours=8)
    min_length: int = 8
    min_classes: int = 3  # of: lower case, upper case, digits, symbols; 0 is no composition rule
    max_age: timedelta | None = timedelta(days=90)  # an older password must be changed at the next login


MLPS = Policy()
# ASVS 4.0 V2.1: at least 12 characters, no composition rules (V2.1.9), no periodic change (V2.1.10).
ASVS = Policy(name="asvs", min_length=12, min_classes=0, max_age=None)
PROFILES = {"mlps": MLPS, "asvs": ASVS}
DEFAULT_POLICY = MLPS
MAX_LENGTH = 128
_CLASS_WORDS = {1: ("一", "one"), 2: ("两", "two"), 3: ("三", "three"), 4: ("四", "four")}


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_problems(password: str, policy: Policy = DEFAULT_POLICY) -> list[dict[str, Any]]:
    """Why a new password is refused (empty when it is acceptable)."""
    found = []
    if len(password) < policy.min_length:
        found.append({"field": "password", "zh": f"密码至少 {policy.min_length} 位",
                      "en": f"at least {policy.min_length} characters"})
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))
    if classes < policy.min_classes:
        zh, en = _CLASS_WORDS[policy.min_classes]
        found.append({"field": "password", "zh": f"密码须包含大写字母、小写字母、数字、符号中的至少{zh}类",
                      "en": f"use at least {en} of: lower case, upper case, digits, symbols"})
    if len(password) > MAX_LENGTH:
        found.append({"field": "password", "zh": f"密码不能超过 {MAX_LENGTH} 位",
                      "en": f"at most {MAX_LENGTH} characters"})
    if is_common(password):
        found.append({"field": "password", "zh": "这个密码太常见（在常用或已泄露的密码之列），请换一个不易猜到的密码",
                      "en": "a common or breached password: choose one that is harder to guess"})
    return found


def initial_password(policy: Policy = DEFAULT_POLICY) -> str:
    """A random one-time password that meets either profile (16 characters, all four classes)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(max(14, policy.min_length))) + "-" + \
            secrets.choice("23456789")
        if not password_problems(candidate, policy) and re.search(r"[a-z]", candidate) and \
                re.search(r"[A-Z]", candidate):
            return candidate


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


UNKNOWN_USERNAME = "（无此账户）"  # stands in the trail for a name typed at login that names no account


def username_pseudonym(username: str) -> str:
    """A keyed hash of a name typed at login that names no account: the same name gives the same pseudonym, so
    repeated guesses show as one, but the name itself (often a password typed into the wrong field) is not kept."""
    key = (settings.pseudonym_key or "zyz-development").encode()
    return hmac.new(key, b"failed-login-username\0" + username.encode(), hashlib.sha256).hexdigest()[:32]


def actor_for(session: Session, user: User, ip: str | None = None) -> Actor:
    return Actor.of(user, session.get(Unit, user.unit_id), ip)


def authenticate(session: Session, *, username: str, password: str, ip: str | None, now: datetime,
                 policy: Policy = DEFAULT_POLICY, certificate: tuple[str, str] | None = None) -> User:
    """The user for these credentials, or AuthError; every attempt is audited, the 5th failure locks.

    For a user with a second factor the password is only the first step: the failure counter is kept until the
    code passes too (workflow.accounts.second_factor.check_code), so that a known password does not reset it.

    An unknown username gets the same answers as a real one, in about the same time: a dummy hash is verified,
    and its failures are counted and "lock" it too, so that "locked" does not tell that the account exists."""
    user = session.exec(select(User).where(User.username == username)).first()
    refused = AuthError("用户名或密码错误。", "Wrong username or password.", code="bad_credentials")
    locked = _locked()
    if user is None:
        _verify(_DUMMY_HASH, password)
        pseudonym = username_pseudonym(username)
        phantom = throttle.failure_row(session, key="unknown-user:" + pseudonym, now=now)
        was_locked = phantom.locked_until is not None and phantom.locked_until > now
        if not was_locked:
            _count_failure(phantom, now, policy)
        phantom.updated_at = now
        session.add(phantom)
        audit.record(session, kind="login_failed", now=now, ip=ip,
                     data={"username": UNKNOWN_USERNAME, "pseudonym": pseudonym, "reason": "unknown_user"})
        raise locked if was_locked else refused
    actor = actor_for(session, user, ip)
    if user.locked_until is not None and user.locked_until > now:
        _verify(_DUMMY_HASH, password)
        audit.record(session, kind="login_failed", now=now, actor=actor, data={"username": username,
                                                                                 "reason": "locked"})
        raise locked
    ok = _verify(user.password_hash, password)
    # the client certificate the proxy verified (when ZYZ_CLIENT_CERT asks for one) must be the account's own
    wrong_certificate = ok and user.is_active and certificate is not None and not certificate_matches(user, certificate)
    if not ok or not user.is_active or wrong_certificate:
        reason = "bad_password" if not ok else "disabled" if not user.is_active else "certificate"
        audit.record(session, kind="login_failed", now=now, actor=actor, data={"username": username, "reason": reason})
        if _count_failure(user, now, policy):
            audit.record(session, kind="lockout", now=now, actor=actor, data={"until": user.locked_until})
        session.add(user)
        if wrong_certificate:
            raise AuthError("请使用本人登记的数字证书（UKey）登录。",
                            "Log in with the client certificate (UKey) registered for this account.",
                            code="certificate_required")
        raise refused
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        audit.record(session, kind="password_rehashed", now=now, actor=actor)
    if (policy.max_age is not None and not user.must_change_password
            and now - user.password_changed_at >= policy.max_age):
        user.must_change_password = True  # the login goes on to the password page
        audit.record(session, kind="password_expired", now=now, actor=actor,
                     data={"changed_at": user.password_changed_at})
    if not user.must_change_password and is_common(password):
        # set before the list grew, or imported: the login goes on to the password page (ASVS 2.1.7)
        user.must_change_password = True
        audit.record(session, kind="password_common", now=now, actor=actor)
    if not has_second_factor(session, user.id):  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        complete_login(user, now)
    session.add(user)
    return user


def complete_login(user: User, now: datetime) -> None:
    """Every factor passed: the failure count starts afresh."""
    user.failed_logins = 0
    user.last_login_at = now


def has_second_factor(session: Session, user_id: int) -> bool:
    """Whether the user's login takes a second factor after the password (workflow.accounts.second_factor)."""
    return session.exec(select(SecondFactor.id).where(SecondFactor.user_id == user_id,
                                                      SecondFactor.confirmed_at.is_not(None))).first() is not None  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression


def certificate_matches(user: User, certificate: tuple[str, str]) -> bool:
    """Whether the certificate the proxy verified ((X-SSL-Client-Verify, X-SSL-Client-S-DN)) is the account's."""
    verified, subject = certificate
    registered = " ".join((user.cert_subject or "").split())
    return verified.strip() == "SUCCESS" and bool(registered) and " ".join(subject.split()) == registered


def set_certificate(session: Session, *, username: str, subject: str, now: datetime, actor: Actor | None) -> User:
    """Register the subject of the account's client certificate (empty: none); its sessions end. On the pages only
    the administrator does it, for another account (`actor` None: the `zyz users certificate` command)."""
    if actor is not None and actor.role != Role.admin:
        raise Forbidden("只有系统管理员可以管理账户。", "Only the administrator manages accounts.")
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("用户不存在。", "No such user.")
    if actor is not None and actor.user_id == user.id:
        raise Forbidden("不能登记自己的证书，请联系另一位系统管理员。",
                        "Another administrator registers your own certificate.", code="own_account")
    subject = " ".join(subject.split())
    if len(subject) > CERT_SUBJECT_MAX:
        raise Unprocessable(f"证书主题不能超过 {CERT_SUBJECT_MAX} 个字符。",
                            f"A certificate subject is at most {CERT_SUBJECT_MAX} characters.",
                            details=[{"field": "subject", "zh": f"不能超过 {CERT_SUBJECT_MAX} 个字符",
                                      "en": f"at most {CERT_SUBJECT_MAX} characters"}])
    user.cert_subject = subject or None
    session.add(user)
    ended = end_all_sessions(session, user_id=user.id, reason="certificate_changed", now=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    audit.record(session, kind="admin_change", now=now, actor=actor,
                 data={"action": "set_certificate", "user_id": user.id, "username": user.username,
                       "subject": subject or None, "sessions_ended": ended})
    return user


CERT_SUBJECT_MAX = 500


def _locked() -> AuthError:
    return AuthError("账户已被锁定，请稍后再试或联系管理员。",
                     "The account is locked; try later or ask an administrator.", code="locked")


def refuse_until_password_changed(session: Session, *, user: User, now: datetime, ip: str | None) -> None:
    """No API token for an account whose password must be changed first (initial, reset or expired): the
    web pages are the one place to change it."""
    if user.must_change_password:
        audit.record(session, kind="login_failed", now=now, actor=actor_for(session, user, ip),
                     data={"username": user.username, "reason": "password_change_required"})
        raise PasswordChangeRequired("请先在网页上修改密码，再申请 API 令牌。",
                                     "Change the password on the web pages before asking for an API token.")


class WrongCurrentPassword(Unprocessable):
    """A password change with a wrong current password: refused like any other, but the failed login it counts
    as (audit event, counter, lockout) is kept."""

    keep_writes = True


class PasswordChangeRequired(Forbidden):
    code = "password_change_required"
    keep_writes = True  # the audit event, and the counters the successful check reset


def _count_failure(row: User | LoginThrottle, now: datetime, policy: Policy) -> bool:
    """One more failure on an account (or unknown name) that is not locked now; True when it locks."""
    if row.locked_until is not None:  # an earlier lock has run out: count afresh
        row.locked_until = None
        if isinstance(row, User):
            row.failed_logins = 0
        else:
            row.count = 0
    failures = (row.failed_logins if isinstance(row, User) else row.count) + 1
    if failures >= policy.max_failures:
        row.locked_until = now + policy.lockout
        failures = 0
    if isinstance(row, User):
        row.failed_logins = failures
    else:
        row.count = failures
    return row.locked_until is not None


def _verify(stored: str, password: str) -> bool:
    if not stored.startswith("$argon2"):
        return _verify_legacy(stored, password)
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


LEGACY_DIGESTS = {"sha1", "sha256", "sha512"}


def _verify_legacy(stored: str, password: str) -> bool:
    """Werkzeug's `pbkdf2:` and `scrypt:` hashes, as accounts imported from an older system carry them; they are
    replaced by argon2id at the first successful login."""
    try:
        method, salt, digest = stored.split("$", 2)
        kind, *args = method.split(":")
        secret, salt_bytes = password.encode(), salt.encode()
        if kind == "pbkdf2" and len(args) <= 2 and (args[:1] or ["sha256"])[0] in LEGACY_DIGESTS:
            name = args[0] if args else "sha256"
            iterations = int(args[1]) if len(args) == 2 else 600_000
            computed = hashlib.pbkdf2_hmac(name, secret, salt_bytes, iterations).hex()
        elif kind == "scrypt" and len(args) in (0, 3):
            n, r, p = (int(a) for a in args) if args else (2**15, 8, 1)
            computed = hashlib.scrypt(secret, salt=salt_bytes, n=n, r=r, p=p, maxmem=132 * n * r * p).hex()
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, digest)


def needs_rehash(stored: str) -> bool:
    """True for a legacy hash and for argon2 at other settings than HASHER's."""
    return not stored.startswith("$argon2id$") or HASHER.check_needs_rehash(stored)


def start_session(session: Session, *, user: User, kind: str, ip: str | None, now: datetime,
                  policy: Policy = DEFAULT_POLICY, factor: str | None = None,
                  until: datetime | None = None) -> tuple[str, LoginSession]:
    """A new session (kind web) or bearer token (kind api); returns the secret key shown once. `factor` is the
    second factor the login passed (totp, recovery): a user who has one gets no session without it. `until`
    ends it earlier than the policy's lifetime would."""
    if factor is None and has_second_factor(session, user.id):  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
        raise AuthError("请输入动态验证码。", "Enter the one-time code.", code="otp_required")
    key = secrets.token_urlsafe(32)
    lifetime = policy.absolute if kind == "web" else policy.token_lifetime
    row = LoginSession(key_hash=_key_hash(key), user_id=user.id, kind=kind, ip=ip, created_at=now,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                       last_seen_at=now, expires_at=min(now + lifetime, until) if until else now + lifetime)
    session.add(row)
    session.flush()
    audit.record(session, kind="login_ok", now=now, actor=actor_for(session, user, ip),
                 data={"via": kind, **({"factor": factor} if factor else {})})
    return key, row


def resolve_session(session: Session, *, key: str, now: datetime,
                    policy: Policy = DEFAULT_POLICY) -> tuple[User, LoginSession, Unit | None] | None:
    """The live session for `key`, touched, with its user and the user's own unit; None if unknown, ended, idle too
    long or expired. The three rows are read in one statement (every request starts here)."""
    found = session.exec(select(LoginSession, User, Unit)
                         .outerjoin(User, col(User.id) == LoginSession.user_id)
                         .outerjoin(Unit, col(Unit.id) == User.unit_id)
                         .where(LoginSession.key_hash == _key_hash(key))).first()
    if found is None or found[0].ended_at is not None:
        return None
    row, user, unit = found
    reason = None
    if user is None or not user.is_active:
        reason = "disabled"
    elif now >= row.expires_at:
        reason = "expired"
    elif now - row.last_seen_at > policy.idle:
        reason = "idle"
    if reason:
        _end(session, row, reason, now)
        return None
    if now - row.last_seen_at > timedelta(seconds=30):  # one write a minute or so, not one per request
        row.last_seen_at = now
        session.add(row)
    return user, row, unit


def _end(session: Session, row: LoginSession, reason: str, now: datetime) -> None:
    row.ended_at = now
    row.ended_reason = reason
    session.add(row)
    if reason in ("idle", "expired"):
        user = session.get(User, row.user_id)
        audit.record(session, kind="session_ended", now=now, actor=actor_for(session, user) if user else None,
                     data={"reason": reason, "via": row.kind})


def end_session(session: Session, *, key: str, now: datetime, actor: Actor) -> None:
    """Log out: the session (or token) stops working at once."""
    row = session.exec(select(LoginSession).where(LoginSession.key_hash == _key_hash(key))).first()
    if row is not None and row.ended_at is None:
        _end(session, row, "logout", now)
        audit.record(session, kind="logout", now=now, actor=actor, data={"via": row.kind})


def end_all_sessions(session: Session, *, user_id: int, reason: str, now: datetime,
                     keep: int | None = None) -> int:
    """End every live session of a user (password change, account disabled, admin request)."""
    table = table_of(LoginSession)
    query = table.update().where(table.c.user_id == user_id, table.c.ended_at.is_(None))
    if keep is not None:
        query = query.where(table.c.id != keep)
    return session.connection().execute(query.values(ended_at=now, ended_reason=reason)).rowcount


def check_current_password(session: Session, *, user: User, password: str, now: datetime, actor: Actor, via: str,
                           policy: Policy = DEFAULT_POLICY) -> bool:
    """Whether `password` is the signed-in user's own, checked as a login is: a wrong one is audited as a failed
    login (`via` says where) and counts towards the lockout, and a locked account is refused (AuthError) whatever
    it is, so that someone holding a session cannot guess the password there faster than at the login. The caller
    raises WrongCurrentPassword on False (its writes are kept)."""
    session.refresh(user, with_for_update=not is_sqlite(session))  # the counter as stored, and held till commit
    if user.locked_until is not None and user.locked_until > now:
        _verify(_DUMMY_HASH, password)
        audit.record(session, kind="login_failed", now=now, actor=actor,
                     data={"username": user.username, "reason": "locked", "via": via})
        raise _locked()
    if _verify(user.password_hash, password):
        return True
    audit.record(session, kind="login_failed", now=now, actor=actor,
                 data={"username": user.username, "reason": "bad_password", "via": via})
    if _count_failure(user, now, policy):
        audit.record(session, kind="lockout", now=now, actor=actor, data={"until": user.locked_until})
    session.add(user)
    return False


def change_password(session: Session, *, user: User, current: str, new: str, now: datetime, actor: Actor,
                    keep_session: int | None = None, policy: Policy = DEFAULT_POLICY) -> None:
    """Change one's own password; every other session of the user ends. The current password is a login check
    (check_current_password): a locked account cannot change its password."""
    wrong = not check_current_password(session, user=user, password=current, now=now, actor=actor,
                                       via="password_change", policy=policy)
    problems = []
    if wrong:
        problems.append({"field": "current", "zh": "当前密码不正确", "en": "the current password is wrong"})
    problems += [{**p, "field": "new"} for p in password_problems(new, policy)]
    if current == new:
        problems.append({"field": "new", "zh": "新密码不能与当前密码相同", "en": "the new password must differ"})
    if problems:
        error = WrongCurrentPassword if wrong else Unprocessable
        raise error("；".join(p["zh"] for p in problems), "; ".join(p["en"] for p in problems), details=problems)
    user.failed_logins = 0
    user.locked_until = None
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    user.must_change_password = False
    session.add(user)
    end_all_sessions(session, user_id=user.id, reason="password_changed", now=now, keep=keep_session)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    audit.record(session, kind="password_changed", now=now, actor=actor)


def create_user(session: Session, *, username: str, display_name: str, role: str, unit_id: int, password: str,
                now: datetime, actor: Actor | None = None, email: str | None = None, mobile: str | None = None,
                must_change_password: bool = True, policy: Policy = DEFAULT_POLICY) -> User:
    """Create an account; the role must fit the kind of unit it belongs to."""
    problems = []
    username = (username or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,64}", username):
        problems.append({"field": "username", "zh": "用户名为3-64位字母、数字、下划线、点或连字符",
                         "en": "username: 3-64 letters, digits, _ . -"})
    elif session.exec(select(User).where(User.username == username)).first():
        problems.append({"field": "username", "zh": "用户名已存在", "en": "username taken"})
    if role not in [r.value for r in HUMAN_ROLES]:
        problems.append({"field": "role", "zh": "角色不正确", "en": "unknown role"})
    unit = session.get(Unit, unit_id)
    if unit is None:
        problems.append({"field": "unit_id", "zh": "所属单位不存在", "en": "no such unit"})
    elif role in Role.__members__ and Role(role) not in UNIT_KIND_ROLES[UnitKind(unit.kind)]:
        problems.append({"field": "role", "zh": "角色与所属单位类型不符", "en": "the role does not fit the unit"})
    if not (display_name or "").strip():
        problems.append({"field": "display_name", "zh": "请填写姓名", "en": "name is required"})
    problems += contact_problems(email=email, mobile=mobile)
    problems += password_problems(password, policy)
    if problems:
        raise Unprocessable("；".join(p["zh"] for p in problems), "; ".join(p["en"] for p in problems),
                            details=problems)
    user = User(username=username, display_name=display_name.strip(), role=role, unit_id=unit_id,
                email=normalize_email(email), mobile=normalize_mobile(mobile), password_hash=hash_password(password),
                must_change_password=must_change_password, password_changed_at=now, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, kind="user_created", now=now, actor=actor,
                 data={"user_id": user.id, "username": username, "role": role, "unit_id": unit_id})
    return user


def set_locked(session: Session, *, username: str, locked: bool, now: datetime, actor: Actor | None,
               until: datetime | None = None) -> User:
    """Lock an account (until a time, or indefinitely by disabling it) or unlock it."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("用户不存在。", "No such user.")
    if actor is not None and actor.user_id == user.id:
        raise Forbidden("不能锁定或解锁自己的账户。", "You cannot lock or unlock your own account.")
    if locked:
        user.locked_until = until
        user.is_active = until is not None
        end_all_sessions(session, user_id=user.id, reason="locked", now=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    else:
        user.locked_until = None
        user.is_active = True
        user.failed_logins = 0
    session.add(user)
    audit.record(session, kind="user_locked" if locked else "user_unlocked", now=now, actor=actor,
                 data={"user_id": user.id, "username": user.username})
    return user


def live_sessions(session: Session, user_id: int) -> int:
    table = table_of(LoginSession)
    return session.connection().execute(
        sa.select(sa.func.count()).where(table.c.user_id == user_id, table.c.ended_at.is_(None))).scalar_one()
