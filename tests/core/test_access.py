"""Who sees which case and town: workflow.core.access is the one place that decides."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from statements import counted

from workflow.core.access import case_filter, case_read, get_case, get_town, town_filter, visible_cases
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.errors import NotFound
from workflow.core.models import Case, CaseParty, Town
from workflow.core.queries import registry_case


@pytest.fixture
def world(db, make, now):
    """Two counties with a town each, cases in both, and a member unit asked about one case."""
    yu_town = make.town("西烟镇", county="盂县")
    cheng_town = make.town("义井镇", county="城区")
    yu_county = make.user("county", county="盂县")
    cheng_county = make.user("county", county="城区")
    yu_case = make.case("designation", town=yu_town, by=yu_county)
    yu_order = make.case("rectification", town=yu_town, data={"problem": "台账缺失"})
    cheng_case = make.case("designation", town=cheng_town, by=cheng_county)
    member = make.user("member", unit="市科技局")
    other_member = make.user("member", unit="市发改委")
    with transaction(db) as s:
        s.add(CaseParty(case_id=yu_case.id, unit_id=member.unit_id, purpose="consultation", created_at=now))
        yu_record = registry_case(s, yu_town.id).id
        cheng_record = registry_case(s, cheng_town.id).id
    return {
        "cases": {"yu_case": yu_case.id, "yu_order": yu_order.id, "yu_record": yu_record,
                  "cheng_case": cheng_case.id, "cheng_record": cheng_record},
        "towns": {"yu": yu_town.id, "cheng": cheng_town.id},
        "actors": {
            "yu_county": make.actor(yu_county), "cheng_county": make.actor(cheng_county),
            "member": make.actor(member), "other_member": make.actor(other_member),
            "office": make.actor(make.user("office")), "leader": make.actor(make.user("leader")),
            "admin": make.actor(make.user("admin")), "auditor": make.actor(make.user("auditor")),
            "system": Actor.system(),
        },
    }


ALL = {"yu_case", "yu_order", "yu_record", "cheng_case", "cheng_record"}
SEES = {
    "yu_county": {"yu_case", "yu_order", "yu_record"},
    "cheng_county": {"cheng_case", "cheng_record"},
    "member": {"yu_case"},
    "other_member": set(),
    "office": ALL,
    "leader": ALL,
    "system": ALL,
    "admin": set(),
    "auditor": set(),
}


def _names(world, ids):
    by_id = {v: k for k, v in world["cases"].items()}
    return {by_id[i] for i in ids}


@pytest.mark.parametrize("who", sorted(SEES))
def test_case_filter(db, world, who):
    actor = world["actors"][who]
    with transaction(db) as s:
        filtered = s.execute(sa.select(Case.id).where(case_filter(actor))).scalars().all()
        listed = [c.id for c in s.exec(visible_cases(actor)).all()]
    assert _names(world, filtered) == SEES[who]
    assert sorted(listed) == sorted(filtered)


@pytest.mark.parametrize("who", sorted(SEES))
def test_get_case(db, world, who):
    """What an actor may not see is not found, exactly like a case that does not exist."""
    actor = world["actors"][who]
    with transaction(db) as s:
        with pytest.raises(NotFound) as raised:
            get_case(s, actor, max(world["cases"].values()) + 1)
        missing = raised.value
        assert (missing.status, missing.code) == (404, "not_found")
        for name, case_id in world["cases"].items():
            if name in SEES[who]:
                assert get_case(s, actor, case_id).id == case_id
                continue
            with pytest.raises(NotFound) as raised:
                get_case(s, actor, case_id)
            hidden = raised.value
            assert (hidden.status, hidden.code, hidden.zh, hidden.en, hidden.details) == (
                missing.status, missing.code, missing.zh, missing.en, missing.details)


def test_a_member_sees_a_case_once_invited(db, world, now):
    actor = world["actors"]["other_member"]
    with transaction(db) as s:
        s.add(CaseParty(case_id=world["cases"]["cheng_case"], unit_id=actor.unit_id, purpose="consultation",
                        created_at=now))
    with transaction(db) as s:
        assert get_case(s, actor, world["cases"]["cheng_case"]).id == world["cases"]["cheng_case"]
        visible = s.execute(sa.select(Case.id).where(case_filter(actor))).scalars().all()
    assert _names(world, visible) == {"cheng_case"}


def test_a_page_that_has_read_the_case_is_not_made_to_read_it_again(db, engine, world, monkeypatch):
    actor = world["actors"]["yu_county"]
    with transaction(db) as s:
        read = get_case(s, actor, world["cases"]["yu_case"])
        with counted(engine, monkeypatch) as ran:
            assert case_read(s, actor, world["cases"]["yu_case"], read) is read
        assert ran == []


@pytest.mark.parametrize("read", ["nothing", "another case"])
def test_a_case_not_yet_read_is_read_for_the_actor(db, engine, world, monkeypatch, read):
    """Without the case in hand (or with another one) the case is read as get_case reads it: hidden is not found."""
    actor = world["actors"]["yu_county"]
    with transaction(db) as s:
        other = get_case(s, actor, world["cases"]["yu_order"]) if read == "another case" else None
        with counted(engine, monkeypatch) as ran:
            found = case_read(s, actor, world["cases"]["yu_case"], other)
        assert (found.id, found.town_id, found.definition_key) == (world["cases"]["yu_case"], world["towns"]["yu"],
                                                                   "designation")
        assert len(ran) == 1
        with pytest.raises(NotFound):
            case_read(s, actor, world["cases"]["cheng_case"], other)


@pytest.mark.parametrize("case_id", [0, -1, 2**31, 10**18])
def test_ids_out_of_range_are_not_found(db, world, case_id):
    with transaction(db) as s, pytest.raises(NotFound):
        get_case(s, world["actors"]["office"], case_id)


TOWNS_SEEN = {
    "yu_county": {"yu"}, "cheng_county": {"cheng"}, "member": {"yu", "cheng"}, "office": {"yu", "cheng"},
    "leader": {"yu", "cheng"}, "admin": set(), "auditor": set(),
}


@pytest.mark.parametrize("who", sorted(TOWNS_SEEN))
def test_towns(db, world, who):
    actor = world["actors"][who]
    by_id = {v: k for k, v in world["towns"].items()}
    with transaction(db) as s:
        visible = s.execute(sa.select(Town.id).where(town_filter(actor))).scalars().all()
        assert {by_id[i] for i in visible} == TOWNS_SEEN[who]
        for name, town_id in world["towns"].items():
            if name in TOWNS_SEEN[who]:
                assert get_town(s, actor, town_id).id == town_id
            else:
                with pytest.raises(NotFound) as hidden:
                    get_town(s, actor, town_id)
                assert (hidden.value.zh, hidden.value.en) == ("专业镇不存在。", "No such town.")  # as a missing one


@pytest.mark.parametrize("town_id", [0, -1, 2**31, 10**18])
def test_town_ids_out_of_range_are_not_found(db, world, town_id):
    """On PostgreSQL such an id would be a server error if it reached the query."""
    with transaction(db) as s, pytest.raises(NotFound) as raised:
        get_town(s, world["actors"]["office"], town_id)
    assert (raised.value.status, raised.value.zh, raised.value.en) == (404, "专业镇不存在。", "No such town.")


def test_the_largest_id_is_still_looked_up(db, world, now):
    """2**31 - 1 is the last id an INTEGER column holds: a town and a case with it are found."""
    last = 2**31 - 1
    office = world["actors"]["office"]
    with transaction(db) as s:
        town = s.get(Town, world["towns"]["yu"])
        conn = s.connection()
        conn.execute(sa.insert(Town.__table__).values(
            {**{c.key: getattr(town, c.key) for c in Town.__table__.columns}, "id": last, "name": "最后一个镇"}))
        case = s.get(Case, world["cases"]["yu_order"])
        conn.execute(sa.insert(Case.__table__).values(
            {**{c.key: getattr(case, c.key) for c in Case.__table__.columns}, "id": last, "number": "ZG-2026-9999",
             "town_id": last}))
    with transaction(db) as s:
        assert get_town(s, office, last).name == "最后一个镇"
        assert get_case(s, office, last).number == "ZG-2026-9999"
