"""workflow.accounts.auth: password policy and hashing, login with lockout, sessions that end."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from argon2 import PasswordHasher, Type
from sqlmodel import select

from conftest import PASSWORD
from workflow.accounts.auth import (
    HASHER,
    actor_for,
    authenticate,
    change_password,
    end_session,
    hash_password,
    live_sessions,
    password_problems,
    resolve_session,
    start_session,
)
from workflow.core.db import transaction
from workflow.core.errors import AuthError, Unprocessable
from workflow.core.models import AuditEvent, LoginSession, User

NEW_PASSWORD = "Qiaotou#2027"


def login(db, username, password, now, ip="10.1.2.3"):
    """Log in the way the web layer does: a refused attempt still commits its counters and audit events."""
    session = db()
    try:
        user = authenticate(session, username=username, password=password, ip=ip, now=now)
        session.commit()
        return user
    except AuthError as exc:
        assert exc.keep_writes
        session.commit()
        raise
    finally:
        session.close()


def refused(db, username, password, now):
    with pytest.raises(AuthError) as raised:
        login(db, username, password, now)
    return raised.value


def user_row(db, username):
    with transaction(db) as s:
        return s.exec(select(User).where(User.username == username)).one()


def audit_events(db, kind=None):
    table = AuditEvent.__table__
    query = sa.select(table).order_by(table.c.seq)
    if kind:
        query = query.where(table.c.kind == kind)
    with transaction(db) as s:
        return [dict(r) for r in s.connection().execute(query).mappings()]


def open_session(db, user, now, kind="web"):
    with transaction(db) as s:
        key, row = start_session(s, user=user, kind=kind, ip="10.1.2.3", now=now)
        return key, row.id


def resolve(db, key, now):
    with transaction(db) as s:
        found = resolve_session(s, key=key, now=now)
        return None if found is None else (found[0].id, found[1].id)


def session_row(db, row_id):
    with transaction(db) as s:
        return s.get(LoginSession, row_id)


# ---- password policy and hashing --------------------------------------------------------------------


COMMON = "a common or breached password: choose one that is harder to guess"


@pytest.mark.parametrize("password, problems", [
    ("Yqzyz2026", []),
    ("yqzyz20!", []),
    ("YQZYZ20!", []),
    ("Yqzyzzz!", []),
    ("阳泉Ab12!x", []),
    ("Ab1!xyz", ["at least 8 characters"]),
    ("yqzyzqtx", ["use at least three of: lower case, upper case, digits, symbols"]),
    ("abcdefgh", ["use at least three of: lower case, upper case, digits, symbols", COMMON]),
    ("abcdefg1", ["use at least three of: lower case, upper case, digits, symbols", COMMON]),
    ("12345678", ["use at least three of: lower case, upper case, digits, symbols", COMMON]),
    ("Abcdefg1", [COMMON]),  # three classes, but a password of the leaked lists
    ("Woaini1314!", [COMMON]),  # a common word with digits and symbols around it
    ("Zhangwei1990!", [COMMON]),  # a pinyin name and a year
    ("Qwer1234!", [COMMON]),  # a keyboard walk
    ("Yangquan2026!", [COMMON]),
    ("1q2w3e4R!", [COMMON]),
    ("@5201314@Ab", []),  # a common number inside other text is not refused on its own
    ("!!5201314!!", ["use at least three of: lower case, upper case, digits, symbols", COMMON]),  # symbols around
    ("Asdf-2026", [COMMON]),  # a common word of four letters is enough of a core
    ("abc", ["at least 8 characters", "use at least three of: lower case, upper case, digits, symbols"]),
    ("Ab1!" * 33, ["at most 128 characters"]),
])
def test_password_policy(password, problems):
    assert [p["en"] for p in password_problems(password)] == problems


def test_a_weak_password_is_refused_when_the_account_is_made(make):
    with pytest.raises(Unprocessable) as raised:
        make.user("county", password="password1")
    assert [(d["field"], d["en"]) for d in raised.value.details] == [
        ("password", "use at least three of: lower case, upper case, digits, symbols"), ("password", COMMON)]
    assert raised.value.details[1]["zh"] == "这个密码太常见（在常用或已泄露的密码之列），请换一个不易猜到的密码"


def test_argon2id_at_owasp_parameters():
    assert (HASHER.type, HASHER.memory_cost, HASHER.time_cost, HASHER.parallelism) == (Type.ID, 19456, 2, 1)
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hashed != hash_password(PASSWORD)  # salted
    assert HASHER.verify(hashed, PASSWORD)


def test_an_old_weaker_hash_is_upgraded_at_login(db, make, now):
    user = make.user("office", username="laowang")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=2).hash(PASSWORD)
    with transaction(db) as s:
        s.connection().execute(sa.update(User.__table__).where(User.__table__.c.id == user.id)
                               .values(password_hash=weak))
    refused(db, "laowang", "Wrong-pass-1", now)
    assert user_row(db, "laowang").password_hash == weak  # a failed attempt changes nothing
    login(db, "laowang", PASSWORD, now)
    upgraded = user_row(db, "laowang").password_hash
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert login(db, "laowang", PASSWORD, now).id == user.id


# ---- login and lockout --------------------------------------------------------------------------------


def test_login_succeeds_and_resets_the_counter(db, make, now):
    user = make.user("county", username="yuxian")
    refused(db, "yuxian", "Wrong-pass-1", now)
    assert user_row(db, "yuxian").failed_logins == 1
    assert login(db, "yuxian", PASSWORD, now).id == user.id
    row = user_row(db, "yuxian")
    assert (row.failed_logins, row.locked_until, row.last_login_at) == (0, None, now)


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(db, make, now):
    make.user("county", username="yuxian")
    wrong = refused(db, "yuxian", "Wrong-pass-1", now)
    unknown = refused(db, "nobody", "Wrong-pass-1", now)
    assert (unknown.status, unknown.code, unknown.zh, unknown.en) == (wrong.status, wrong.code, wrong.zh, wrong.en)
    assert (wrong.status, wrong.code) == (401, "bad_credentials")
    failed = audit_events(db, "login_failed")
    assert [(e["actor_name"], e["ip"]) for e in failed] == [("county用户", "10.1.2.3"), (None, "10.1.2.3")]
    assert ['"reason":"bad_password"' in failed[0]["data"], '"reason":"unknown_user"' in failed[1]["data"]] == [
        True, True]


def test_a_disabled_account_is_refused_like_a_wrong_password(db, make, now):
    user = make.user("county", username="yuxian")
    with transaction(db) as s:
        s.connection().execute(sa.update(User.__table__).where(User.__table__.c.id == user.id)
                               .values(is_active=False))
    assert refused(db, "yuxian", PASSWORD, now).code == "bad_credentials"


def test_five_failures_lock_the_account_for_fifteen_minutes(db, make, now):
    make.user("county", username="yuxian")
    for attempt in range(1, 5):
        assert refused(db, "yuxian", f"Wrong-pass-{attempt}", now + timedelta(seconds=attempt)).code == (
            "bad_credentials")
        assert user_row(db, "yuxian").failed_logins == attempt
    assert audit_events(db, "lockout") == []

    fifth = now + timedelta(seconds=5)
    refused(db, "yuxian", "Wrong-pass-5", fifth)
    row = user_row(db, "yuxian")
    assert row.locked_until == fifth + timedelta(minutes=15)
    lockout = audit_events(db, "lockout")
    assert [(e["occurred_at"], e["actor_id"]) for e in lockout] == [(fifth, row.id)]
    assert lockout[0]["data"] == f'{{"until":"{fifth + timedelta(minutes=15)}"}}'

    # locked: even the right password is refused until the quarter of an hour is over
    assert refused(db, "yuxian", PASSWORD, fifth + timedelta(minutes=14, seconds=59)).code == "locked"
    assert '"reason":"locked"' in audit_events(db, "login_failed")[-1]["data"]
    assert login(db, "yuxian", PASSWORD, fifth + timedelta(minutes=15)).username == "yuxian"
    row = user_row(db, "yuxian")
    assert (row.failed_logins, row.locked_until) == (0, None)


def test_after_a_lock_runs_out_the_count_starts_afresh(db, make, now):
    make.user("county", username="yuxian")
    for _ in range(5):
        refused(db, "yuxian", "Wrong-pass-1", now)
    later = now + timedelta(minutes=16)
    assert refused(db, "yuxian", "Wrong-pass-1", later).code == "bad_credentials"
    row = user_row(db, "yuxian")
    assert (row.failed_logins, row.locked_until) == (1, None)


def test_lockout_follows_now_not_the_wall_clock(db, make, now):
    make.user("county", username="yuxian")
    with time_machine.travel(now + timedelta(days=400), tick=False):
        for _ in range(5):
            refused(db, "yuxian", "Wrong-pass-1", now)
        # a year later on the wall clock, but `now` says five minutes: still locked
        assert refused(db, "yuxian", PASSWORD, now + timedelta(minutes=5)).code == "locked"
    with time_machine.travel(now - timedelta(days=400), tick=False):
        assert login(db, "yuxian", PASSWORD, now + timedelta(minutes=15)).username == "yuxian"


# ---- sessions ---------------------------------------------------------------------------------------------


def test_a_session_resolves_and_is_touched(db, make, now):
    user = make.user("county")
    key, row_id = open_session(db, user, now)
    assert resolve(db, key, now + timedelta(seconds=10)) == (user.id, row_id)
    assert session_row(db, row_id).last_seen_at == now  # touched at most about once a minute
    assert resolve(db, key, now + timedelta(minutes=29)) == (user.id, row_id)
    assert session_row(db, row_id).last_seen_at == now + timedelta(minutes=29)
    assert resolve(db, "not-a-key", now) is None
    assert [e["data"] for e in audit_events(db, "login_ok")] == ['{"via":"web"}']


def test_an_idle_session_is_refused_and_ended(db, make, now):
    user = make.user("county")
    key, row_id = open_session(db, user, now)
    assert resolve(db, key, now + timedelta(minutes=30)) is not None  # exactly 30 minutes is still fine
    idle_at = now + timedelta(minutes=60, seconds=1)
    assert resolve(db, key, idle_at) is None
    row = session_row(db, row_id)
    assert (row.ended_at, row.ended_reason) == (idle_at, "idle")
    ended = audit_events(db, "session_ended")
    assert [(e["actor_id"], e["occurred_at"]) for e in ended] == [(user.id, idle_at)]
    assert '"reason":"idle"' in ended[0]["data"]
    # ended for good: activity afterwards does not bring it back
    assert resolve(db, key, idle_at + timedelta(seconds=1)) is None
    assert live_sessions_of(db, user.id) == 0


def live_sessions_of(db, user_id):
    with transaction(db) as s:
        return live_sessions(s, user_id)


def test_a_session_ends_after_its_lifetime_however_active(db, make, now):
    user = make.user("county")
    key, row_id = open_session(db, user, now)
    moment = now
    while moment < now + timedelta(hours=12) - timedelta(minutes=20):
        moment += timedelta(minutes=20)
        assert resolve(db, key, moment) is not None
    assert resolve(db, key, now + timedelta(hours=12)) is None
    assert session_row(db, row_id).ended_reason == "expired"


def test_an_api_token_lives_eight_hours(db, make, now):
    user = make.user("office")
    key, row_id = open_session(db, user, now, kind="api")
    assert session_row(db, row_id).expires_at == now + timedelta(hours=8)
    assert resolve(db, key, now + timedelta(hours=8)) is None


def test_logout_ends_the_session(db, make, now):
    user = make.user("county")
    key, row_id = open_session(db, user, now)
    other_key, _ = open_session(db, user, now)
    with transaction(db) as s:
        end_session(s, key=key, now=now + timedelta(minutes=1), actor=actor_for(s, user))
    assert resolve(db, key, now + timedelta(minutes=2)) is None
    row = session_row(db, row_id)
    assert (row.ended_at, row.ended_reason) == (now + timedelta(minutes=1), "logout")
    assert resolve(db, other_key, now + timedelta(minutes=2)) is not None  # only this session
    assert [e["actor_id"] for e in audit_events(db, "logout")] == [user.id]


def test_changing_the_password_ends_the_other_sessions(db, make, now):
    user = make.user("county", username="yuxian")
    keys = [open_session(db, user, now, kind=kind) for kind in ("web", "web", "api")]
    (current_key, current_id), *others = keys
    later = now + timedelta(minutes=5)
    with transaction(db) as s:
        me = s.get(User, user.id)
        change_password(s, user=me, current=PASSWORD, new=NEW_PASSWORD, now=later, actor=actor_for(s, me),
                        keep_session=current_id)
    assert resolve(db, current_key, later) is not None
    for key, row_id in others:
        assert resolve(db, key, later) is None
        row = session_row(db, row_id)
        assert (row.ended_at, row.ended_reason) == (later, "password_changed")
    assert live_sessions_of(db, user.id) == 1
    assert refused(db, "yuxian", PASSWORD, later).code == "bad_credentials"
    assert login(db, "yuxian", NEW_PASSWORD, later).id == user.id
    assert user_row(db, "yuxian").password_changed_at == later
    assert [e["actor_id"] for e in audit_events(db, "password_changed")] == [user.id]


@pytest.mark.parametrize("current, new, fields", [
    ("Not-my-pass-1", NEW_PASSWORD, ["current"]),
    (PASSWORD, "short", ["new", "new"]),
    (PASSWORD, PASSWORD, ["new"]),
])
def test_a_refused_password_change_changes_nothing(db, make, now, current, new, fields):
    user = make.user("county", username="yuxian")
    key, _ = open_session(db, user, now)
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        me = s.get(User, user.id)
        change_password(s, user=me, current=current, new=new, now=now, actor=actor_for(s, me))
    assert [d["field"] for d in raised.value.details] == fields
    assert resolve(db, key, now) is not None
    assert login(db, "yuxian", PASSWORD, now).id == user.id
