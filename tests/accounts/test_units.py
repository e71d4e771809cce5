"""Units as the administrator keeps them: create, rename, deactivate and reactivate on /admin/units, never delete;
a duplicate or empty name is refused with its reason; a deactivated member unit is no longer offered for new work
while its history stays; every change is audited; nobody but the administrator reaches the pages."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from conftest import csrf_token, login
from workflow.accounts import units
from workflow.core.db import transaction
from workflow.core.errors import Conflict, Forbidden, Unprocessable
from workflow.core.models import AuditEvent, Unit


def _unit(db, name: str) -> Unit | None:
    with transaction(db) as s:
        return s.exec(select(Unit).where(Unit.name == name)).first()


def _changes(db) -> list[dict]:
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "admin_change").order_by(AuditEvent.seq)).all()
        return [json.loads(e.data) if isinstance(e.data, str) else e.data for e in events]


def test_create_rename_deactivate_and_reactivate_each_audited(db, make, now):
    admin = make.actor(make.user("admin"))
    with transaction(db) as s:
        unit = units.create_unit(s, actor=admin, name="  市  档案局 ", kind="member", now=now)
    assert (unit.name, unit.kind, unit.is_active) == ("市 档案局", "member", True)
    with transaction(db) as s:
        assert units.rename_unit(s, actor=admin, unit_id=unit.id, name="市档案馆", now=now)
        assert not units.rename_unit(s, actor=admin, unit_id=unit.id, name="市档案馆", now=now)
    with transaction(db) as s:
        assert units.set_unit_active(s, actor=admin, unit_id=unit.id, active=False, now=now)
        assert not units.set_unit_active(s, actor=admin, unit_id=unit.id, active=False, now=now)
    assert _unit(db, "市档案馆").is_active is False
    with transaction(db) as s:
        assert units.set_unit_active(s, actor=admin, unit_id=unit.id, active=True, now=now)
    actions = [(d["action"], d.get("name") or d.get("to")) for d in _changes(db) if "unit_id" in d]
    assert actions == [("unit_created", "市 档案局"), ("unit_renamed", "市档案馆"), ("unit_deactivated", "市档案馆"),
                       ("unit_activated", "市档案馆")]


def test_refusals_name_the_reason(db, make, now):
    admin = make.actor(make.user("admin"))
    make.unit("市科技局", "member")
    with transaction(db) as s, pytest.raises(Unprocessable) as empty:
        units.create_unit(s, actor=admin, name="  ", kind="member", now=now)
    assert empty.value.zh == "请填写单位名称。"
    with transaction(db) as s, pytest.raises(Unprocessable) as taken:
        units.create_unit(s, actor=admin, name="市科技局", kind="member", now=now)
    assert taken.value.zh == "已有名为“市科技局”的单位。" and taken.value.details[0]["field"] == "name"
    with transaction(db) as s, pytest.raises(Unprocessable) as kind:
        units.create_unit(s, actor=admin, name="市档案局", kind="bureau", now=now)
    assert kind.value.details[0]["field"] == "kind"
    office = make.unit("市工信局", "office")
    with transaction(db) as s, pytest.raises(Unprocessable) as second:
        units.create_unit(s, actor=admin, name="另一个办公室", kind="office", now=now)
    assert "只能有一个领导小组办公室" in second.value.zh
    with transaction(db) as s, pytest.raises(Conflict):
        units.set_unit_active(s, actor=admin, unit_id=office.id, active=False, now=now)
    with transaction(db) as s, pytest.raises(Forbidden):
        units.create_unit(s, actor=make.actor(make.user("office")), name="市档案局", kind="member", now=now)


def test_the_pages_create_rename_and_deactivate_with_chinese_messages(app, db, make):
    make.user("admin", username="root")
    client = app.test_client()
    login(client, "root")
    token = csrf_token(client, "/admin/units/new")
    refused = client.post("/admin/units/new", data={"csrf_token": token, "name": "", "kind": "member"})
    assert refused.status_code == 422 and "请填写单位名称。" in refused.get_data(as_text=True)
    created = client.post("/admin/units/new", data={"csrf_token": token, "name": "市档案局", "kind": "member"})
    assert created.status_code == 302
    unit = _unit(db, "市档案局")
    twice = client.post("/admin/units/new", data={"csrf_token": token, "name": "市档案局", "kind": "county"})
    assert twice.status_code == 422 and "已有名为“市档案局”的单位。" in twice.get_data(as_text=True)
    page = client.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert "确定停用该单位吗？" in page  # the confirmation before deactivating
    renamed = client.post(f"/admin/units/{unit.id}", data={"csrf_token": token, "name": "市档案馆"})
    assert renamed.status_code == 302 and _unit(db, "市档案馆").id == unit.id
    client.post(f"/admin/units/{unit.id}/deactivate", data={"csrf_token": token})
    assert _unit(db, "市档案馆").is_active is False
    listed = client.get("/admin/units?kind=member&status=inactive").get_data(as_text=True)
    assert "市档案馆" in listed and "已停用" in listed
    assert "市档案馆" not in client.get("/admin/units?status=active").get_data(as_text=True)


def test_a_deactivated_member_unit_is_not_offered_for_new_work_but_keeps_its_history(app, db, make, now):
    admin = make.actor(make.user("admin"))
    make.user("office", username="office_staff")
    member = make.user("member", unit="市统计局")
    with transaction(db) as s:
        units.set_unit_active(s, actor=admin, unit_id=member.unit_id, active=False, now=now)
    case = make.case("designation", state="submitted")
    client = app.test_client()
    login(client, "office_staff")
    make.unit("市科技局", "member")
    form = client.get(f"/cases/{case.id}/do/accept").get_data(as_text=True)
    assert "市科技局" in form and "市统计局" not in form
    assert _unit(db, "市统计局") is not None and member.unit_id == _unit(db, "市统计局").id  # never deleted
