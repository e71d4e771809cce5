"""Saved sets of member units (常用组合, workflow.core.unit_presets): the office saves the units it ticks under a
name, saves again under the same name to replace them, and deletes a set; a set holds only active member units and
has a name of 1 to 40 characters; nobody but the office may touch them; every change is in the audit trail, and a
refusal leaves nothing behind."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from workflow.core import unit_presets
from workflow.core.db import transaction
from workflow.core.errors import Forbidden, InvalidInput, NotFound
from workflow.core.models import AuditEvent, Unit, UnitPreset


@pytest.fixture
def office(make):
    return make.actor(make.user("office", username="office_clerk", display_name="办公室 张敏"))


@pytest.fixture
def units(make):
    return {name: make.unit(name, "member").id for name in ("市发改委", "市统计局", "市科技局", "市商务局")}


def _save(db, actor, name, unit_ids, now):
    with transaction(db) as s:
        return unit_presets.save_preset(s, actor, name=name, unit_ids=unit_ids, now=now)


def _events(db, kind: str | None = None) -> list[AuditEvent]:
    with transaction(db) as s:
        query = select(AuditEvent).where(AuditEvent.kind != "permission_refused").order_by(AuditEvent.seq)
        if kind:
            query = query.where(AuditEvent.kind == kind)
        return list(s.exec(query))


def _rows(db) -> list[tuple[str, list[int]]]:
    with transaction(db) as s:
        return [(r.name, r.unit_ids) for r in s.exec(select(UnitPreset).order_by(UnitPreset.id))]


def test_the_office_saves_a_set_and_lists_it_with_its_units(db, now, office, units):
    ids = [units["市科技局"], units["市发改委"], units["市科技局"]]  # in any order, a unit twice
    saved = _save(db, office, "  工业类  常用会审单位 ", ids, now)
    assert not saved.replaced
    assert saved.preset.name == "工业类 常用会审单位"
    assert saved.preset.unit_ids == sorted({units["市科技局"], units["市发改委"]})
    assert [u.name for u in saved.preset.units] == ["市发改委", "市科技局"]
    assert saved.preset.created_by == "办公室 张敏"
    with transaction(db) as s:
        listed = unit_presets.list_presets(s, office)
        assert [p.name for p in listed] == ["工业类 常用会审单位"]
        assert listed[0].active_ids == saved.preset.unit_ids
        assert unit_presets.get_preset(s, office, saved.preset.id).name == "工业类 常用会审单位"
    [event] = _events(db, "unit_preset_saved")
    data = json.loads(event.data)
    assert data == {"preset_id": saved.preset.id, "name": "工业类 常用会审单位", "unit_ids": saved.preset.unit_ids,
                    "units": ["市发改委", "市科技局"], "replaced": False}
    assert event.actor_name == "办公室 张敏" and event.role == "office"


def test_saving_under_an_existing_name_replaces_its_units_and_says_so(db, now, office, units):
    first = _save(db, office, "工业类", [units["市发改委"]], now)
    second = _save(db, office, "工业类", [units["市统计局"], units["市商务局"]], now + timedelta(hours=1))
    assert second.replaced and second.preset.id == first.preset.id
    assert _rows(db) == [("工业类", sorted([units["市统计局"], units["市商务局"]]))]
    assert second.preset.updated_at > second.preset.created_at
    data = json.loads(_events(db, "unit_preset_saved")[-1].data)
    assert data["replaced"] is True
    assert data["previous_unit_ids"] == [units["市发改委"]]


@pytest.mark.parametrize(("name", "code"), [("", "no_name"), ("   ", "no_name"), (None, "no_name"),
                                            ("组" * 41, "name_too_long")])
def test_a_set_needs_a_name_of_one_to_forty_characters(db, now, office, units, name, code):
    before = _events(db)
    with pytest.raises(InvalidInput) as refused:
        _save(db, office, name, [units["市发改委"]], now)
    assert refused.value.code == code
    assert refused.value.details[0]["field"] == "name"
    assert "名称" in refused.value.zh
    assert _rows(db) == [] and _events(db) == before


def test_forty_characters_are_enough(db, now, office, units):
    assert _save(db, office, "组" * 40, [units["市发改委"]], now).preset.name == "组" * 40


@pytest.mark.parametrize("which", ["none", "unknown", "county", "inactive", "huge", "not_ints", "bool"])
def test_every_unit_must_be_an_active_member_unit(db, make, now, office, units, which):
    county = make.unit("盂县", "county").id
    stopped = make.unit("市金融办", "member").id
    with transaction(db) as s:
        s.get(Unit, stopped).is_active = False
    unit_ids = {"none": [], "unknown": [units["市发改委"], 999_999], "county": [county], "inactive": [stopped],
                "huge": [2**40], "not_ints": ["1"], "bool": [True]}[which]
    before = _events(db)
    with pytest.raises(InvalidInput) as refused:
        _save(db, office, "工业类", unit_ids, now)
    assert refused.value.details[0]["field"] == "unit_ids"
    if which in ("unknown", "county", "inactive"):
        assert refused.value.code == "unknown_units"
        assert str(unit_ids[-1]) in refused.value.zh
    assert _rows(db) == [] and _events(db) == before


@pytest.mark.parametrize("role", ["county", "member", "leader", "admin", "auditor"])
def test_only_the_office_lists_saves_or_deletes_sets(db, make, now, office, units, role):
    saved = _save(db, office, "工业类", [units["市发改委"]], now)
    other = make.actor(make.user(role, username=f"{role}_user"))
    before = _events(db)
    with transaction(db) as s:
        with pytest.raises(Forbidden):
            unit_presets.list_presets(s, other)
        with pytest.raises(Forbidden):
            unit_presets.get_preset(s, other, saved.preset.id)
        with pytest.raises(Forbidden):
            unit_presets.save_preset(s, other, name="我的", unit_ids=[units["市科技局"]], now=now)
        with pytest.raises(Forbidden):
            unit_presets.delete_preset(s, other, saved.preset.id, now)
    assert _rows(db) == [("工业类", [units["市发改委"]])] and _events(db) == before


def test_the_office_deletes_a_set_and_the_trail_says_which(db, now, office, units):
    keep = _save(db, office, "农业类", [units["市科技局"]], now)
    gone = _save(db, office, "工业类", [units["市发改委"], units["市统计局"]], now)
    with transaction(db) as s:
        deleted = unit_presets.delete_preset(s, office, gone.preset.id, now)
    assert deleted.name == "工业类"
    assert _rows(db) == [("农业类", [units["市科技局"]])]
    [event] = _events(db, "unit_preset_deleted")
    assert json.loads(event.data) == {"preset_id": gone.preset.id, "name": "工业类",
                                      "unit_ids": gone.preset.unit_ids, "units": ["市发改委", "市统计局"]}
    for missing in (gone.preset.id, 999_999, 0, 2**40):
        with transaction(db) as s, pytest.raises(NotFound):
            unit_presets.delete_preset(s, office, missing, now)
        with transaction(db) as s, pytest.raises(NotFound):
            unit_presets.get_preset(s, office, missing)
    assert keep.preset.id != gone.preset.id


def test_a_unit_made_inactive_later_stays_in_the_set_but_is_not_applied(db, now, office, units):
    saved = _save(db, office, "工业类", [units["市发改委"], units["市商务局"]], now)
    with transaction(db) as s:
        s.get(Unit, units["市商务局"]).is_active = False
    with transaction(db) as s:
        preset = unit_presets.get_preset(s, office, saved.preset.id)
    assert preset.unit_ids == sorted([units["市发改委"], units["市商务局"]])
    assert preset.active_ids == [units["市发改委"]]
    assert [(u.name, u.active) for u in preset.units] == [("市发改委", True), ("市商务局", False)]
