"""workflow.core.audit.search: keyset pages on seq give exactly what a plain filter gives, for every combination of
filters, with times out of order, whichever index the planner walks."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.models import AuditEvent

TABLE = AuditEvent.__table__
KINDS = ["transition", "login_ok", "logout", "permission_refused", "export"]


@pytest.fixture
def scattered(db, make, now):
    """400 events by 6 people; about one in five is recorded with a time earlier than the event before it
    (a request that took its clock reading, then waited for the chain's head)."""
    rnd = random.Random(6)
    people = [make.actor(make.user(role, county=county)) for role, county in
              (("county", "盂县"), ("county", "平定县"), ("office", "盂县"), ("member", "盂县"), ("auditor", "盂县"),
               ("admin", "盂县"))]
    with transaction(db) as s:
        for n in range(400):
            who = rnd.choice(people)
            moment = now + timedelta(minutes=n) - timedelta(minutes=rnd.choice((0, 0, 0, 0, 7, 30)))
            audit.record(s, kind=rnd.choice(KINDS), now=moment, actor=who, case_id=rnd.choice((None, 1, 2, 3)),
                         county_id=rnd.choice((None, people[0].unit_id, people[1].unit_id)))
    with transaction(db) as s:
        rows = [dict(r) for r in s.connection().execute(sa.select(TABLE).order_by(TABLE.c.seq.desc())).mappings()]
    return people, rows


def matches(row: dict, c: audit.Criteria, user_ids: list[int] | None) -> bool:
    return ((c.start_at is None or row["occurred_at"] >= c.start_at) and (c.end_at is None or row["occurred_at"] <
            c.end_at) and (c.kind is None or row["kind"] == c.kind) and (c.role is None or row["role"] == c.role)
            and (c.unit_id is None or row["unit_id"] == c.unit_id) and (c.county_id is None or row["county_id"] ==
            c.county_id) and (c.case is None or row["case_id"] == int(c.case))
            and (user_ids is None or row["actor_id"] in user_ids))


def walk(db, criteria: audit.Criteria, limit: int) -> list[int]:
    """Every seq the pages show, following the next links to the end; then back again by the newer links."""
    shown, before, pages = [], None, []
    while True:
        with transaction(db) as s:
            page = audit.search(s, criteria, before=before, limit=limit)
        pages.append([r.seq for r in page.items])
        shown += pages[-1]
        if page.next_before is None:
            break
        assert page.next_before == page.items[-1].seq
        before = page.next_before
    after, back = (pages[-1][0] if pages[-1] else None), [pages[-1]]
    while after is not None:
        with transaction(db) as s:
            page = audit.search(s, criteria, after=after, limit=limit)
        if not page.items:
            break
        back.append([r.seq for r in page.items])
        after = page.prev_after
    if len(pages) > 1:
        assert back[::-1] == pages  # forward and back cut the same pages
    return shown


def test_pages_equal_a_plain_filter_for_random_criteria(db, scattered, now):
    people, rows = scattered
    rnd = random.Random(2026)
    for _ in range(60):
        start = now + timedelta(minutes=rnd.randrange(0, 400)) if rnd.random() < 0.5 else None
        end = (start or now) + timedelta(minutes=rnd.randrange(1, 300)) if rnd.random() < 0.5 else None
        who = rnd.choice(people) if rnd.random() < 0.3 else None
        criteria = audit.Criteria(
            start_at=start, end_at=end, kind=rnd.choice(KINDS) if rnd.random() < 0.5 else None,
            role=rnd.choice(("county", "office", "member")) if rnd.random() < 0.3 else None,
            unit_id=who.unit_id if who and rnd.random() < 0.5 else None,
            county_id=rnd.choice((people[0].unit_id, people[1].unit_id)) if rnd.random() < 0.3 else None,
            case=str(rnd.choice((1, 2, 3))) if rnd.random() < 0.3 else None,
            user=(who.name if rnd.random() < 0.5 else str(who.user_id)) if who and rnd.random() < 0.5 else None)
        user_ids = None
        if criteria.user:
            user_ids = [p.user_id for p in people if criteria.user in (p.name, str(p.user_id))]
        expected = [r["seq"] for r in rows if matches(r, criteria, user_ids)]
        assert walk(db, criteria, rnd.choice((1, 7, 50))) == expected, criteria


def test_a_time_range_finds_events_recorded_out_of_order(db, make, now):
    """The seq window of a time range comes from the lowest and highest seq in it, not from the first and last
    time: an event whose time is out of order is still found."""
    with transaction(db) as s:
        for minutes in (0, 10, 20, 5, 30, 15):
            audit.record(s, kind="logout", now=now + timedelta(minutes=minutes), actor=Actor.system())
    criteria = audit.Criteria(start_at=now + timedelta(minutes=4), end_at=now + timedelta(minutes=16))
    with transaction(db) as s:
        page = audit.search(s, criteria)
    assert [r.seq for r in page.items] == [6, 4, 2]


def test_iter_events_gives_every_match_oldest_first_in_batches(db, scattered):
    _, rows = scattered
    criteria = audit.Criteria(kind="login_ok")
    expected = [r["seq"] for r in reversed(rows) if r["kind"] == "login_ok"]
    with transaction(db) as s:
        assert [r.seq for r in audit.iter_events(s, criteria, batch=7)] == expected
        assert [r.seq for r in audit.iter_events(s, criteria, batch=7, limit=10)] == expected[:10]
    with transaction(db) as s:
        assert [r.seq for r in audit.iter_events(s, criteria, batch=5, release=True)] == expected


def test_nothing_matches_a_user_or_case_that_does_not_exist(db, scattered):
    with transaction(db) as s:
        for criteria in (audit.Criteria(user="nobody"), audit.Criteria(case="ZYZ-NONE"),
                         audit.Criteria(case=str(2**40)), audit.Criteria(user=str(2**40))):
            page = audit.search(s, criteria)
            assert (page.items, page.next_before, page.prev_after) == ([], None, None)
            assert list(audit.iter_events(s, criteria)) == []


def test_the_search_criteria_are_recorded_as_given(db, scattered, now):
    people, _ = scattered
    criteria = audit.Criteria(start_at=now, kind="export", user="x")
    with transaction(db) as s:
        audit.note_access(s, kind="search", actor=people[4], now=now, criteria=criteria, before=None, shown=0)
        event = s.connection().execute(sa.select(TABLE).order_by(TABLE.c.seq.desc()).limit(1)).one()
    assert event.data == audit.canonical_json({"start_at": "2026-11-27T02:00:00.000000+00:00", "kind": "export",
                                               "user": "x", "shown": 0})


@pytest.mark.sqlite  # PostgreSQL plans from its own statistics
def test_on_sqlite_the_rarest_filter_is_walked(db, scattered):
    """With two filters SQLite walks the index of the rarer one (counted, capped), rather than guessing."""
    with transaction(db) as s:
        plan = audit._plan(s, audit.Criteria(kind="export", role="county"))
        sql = str(sa.select(TABLE).where(*plan.where).compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        rare = s.execute(sa.select(sa.func.count()).where(TABLE.c.kind == "export")).scalar_one()
        common = s.execute(sa.select(sa.func.count()).where(TABLE.c.role == "county")).scalar_one()
    assert rare < common
    assert "+audit_event.role" in sql and "+audit_event.kind" not in sql


def test_the_seq_window_of_a_time_range_is_exact_whichever_way_it_is_read(db, scattered, now):
    """Ranges cutting near the start, near the end, in the middle, beyond either end or empty: the window is the
    lowest and highest seq inside the range, though about one event in five is out of time order."""
    _, rows = scattered
    minutes = [-60, -31, -1, 0, 3, 20, 100, 200, 300, 380, 399, 400, 460]
    with transaction(db) as s:
        conn = s.connection()
        for a in [None, *minutes]:
            for b in [None, *minutes]:
                start = None if a is None else now + timedelta(minutes=a)
                end = None if b is None else now + timedelta(minutes=b, seconds=30)
                inside = [r["seq"] for r in rows if (start is None or r["occurred_at"] >= start)
                          and (end is None or r["occurred_at"] < end)]
                window = audit._seq_window(conn, start, end)
                if not inside:
                    assert window is None or not any(window[0] <= seq <= window[1] for seq in inside), (a, b)
                    continue
                assert window is not None, (a, b)
                # it holds every event of the range; a side that cuts into the trail is bounded exactly, a side
                # beyond the first or last event stays open (1 or 2**63 - 1)
                assert window[0] <= min(inside) and window[1] >= max(inside), (a, b, window)
                if window[0] != 1:
                    assert window[0] >= min(r["seq"] for r in rows if r["occurred_at"] >= start)
                if window[1] != 2**63 - 1:
                    assert window[1] <= max(r["seq"] for r in rows if r["occurred_at"] < end)
                if start is not None and start > min(r["occurred_at"] for r in rows):
                    assert window[0] != 1 or min(inside) == 1
                if end is not None and end <= max(r["occurred_at"] for r in rows):
                    assert window[1] != 2**63 - 1
