"""The office's everyday forms: member units chosen by the annex's groups at 受理, the default opinion deadline
shown as a date, batch reminders."""

from __future__ import annotations

import re

import time_machine

from conftest import login
from workflow.core.db import transaction
from workflow.seed import MEMBER_UNIT_GROUPS, MEMBER_UNITS, ensure_reference_units


def text(response) -> str:
    return response.get_data(as_text=True)


def test_every_member_unit_of_the_annex_is_in_exactly_one_group():
    grouped = [name for _, names in MEMBER_UNIT_GROUPS for name in names]
    assert sorted(grouped) == sorted(MEMBER_UNITS) and len(grouped) == len(set(grouped))
    # within a group, the annex's order
    for _, names in MEMBER_UNIT_GROUPS:
        assert list(names) == sorted(names, key=MEMBER_UNITS.index)


def test_accept_form_groups_units_as_the_annex_and_shows_the_default_deadline(app, make, db, now):
    with transaction(db) as s:
        ensure_reference_units(s, now)
    make.unit("市新设协调中心", "member")  # a unit the annex does not name: listed last, under 其他
    case = make.case(state="submitted")
    make.user("office", unit="市工信局（领导小组办公室）", username="office_wang")
    client = app.test_client()
    with time_machine.travel(now, tick=False):  # Friday 27 November 2026
        login(client, "office_wang")
        page = text(client.get(f"/cases/{case.id}/do/accept"))
    legends = re.findall(r'data-unit-group="[^"]+">\s*<legend>([^<]+)</legend>', page)
    assert legends == ["市委部门", "市政府部门", "中央和省驻阳单位", "群团组织和新闻单位", "其他成员单位"]
    names = re.findall(r'name="member_units" value="\d+" >\s*([^<\n]+)', page)
    assert names[:4] == ["市委组织部", "市委宣传部", "市委统战部", "市文旅局"]
    assert names[-4:] == ["市工商联", "阳泉市广播电视台", "阳泉日报社", "市新设协调中心"]
    assert page.count('data-select-all="') == 5
    # 7 working days from Friday 27 November: Tuesday 8 December
    assert "不填写时，期限为 2026-12-08。" in page
