"""常用组合 in Debian's Chromium: the office ticks the usual units on one application's 受理 form and saves them under
a name, opens another application's 受理 form, picks the saved set in the list and sees exactly its units ticked,
then accepts; the case consults exactly those units. Screenshots at 1366 and 390 px."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from browsing import log_in as login
from browsing import shots as screenshots
from playwright.sync_api import expect

from conftest import reload
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.seed import ensure_reference_units, unit_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]
START = datetime(2026, 11, 27, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # a Friday morning in Yangquan
INDUSTRY = ("市发改委", "市工信局", "市科技局", "市商务局", "市市场监管局", "市统计局")


def ticked(page) -> list[str]:
    return sorted(page.locator("fieldset.unit-groups input[name=member_units]:checked").evaluate_all(
        "boxes => boxes.map(box => box.parentElement.textContent.trim())"))


def test_the_office_saves_the_usual_units_and_applies_them_on_another_application(page, live_server, make, db, now):
    with transaction(db) as s:
        ensure_reference_units(s, now)
        industry = sorted(unit_id(s, name) for name in INDUSTRY)
    county = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", unit="市工信局（领导小组办公室）", username="office_zhang")
    first = make.case(state="submitted", by=county)
    second = make.case(state="submitted", by=county)
    with time_machine.travel(START, tick=True):
        login(page, live_server, "office_zhang")

        # the first application: tick the usual units and save them as a set
        page.goto(f"{live_server}/cases/{first.id}/do/accept")
        expect(page.locator(".unit-presets")).to_contain_text("还没有常用组合")
        for name in INDUSTRY:
            page.get_by_label(name, exact=True).check()
        page.fill("#f-preset-name", "工业类专业镇常用会审单位")
        screenshots(page, "office-unit-presets-save")
        page.get_by_role("button", name="保存为常用组合").click()
        expect(page.locator(".flash.success")).to_have_text(
            "已保存为常用组合“工业类专业镇常用会审单位”：6 个成员单位。")
        assert ticked(page) == sorted(INDUSTRY)

        # the second application: nothing ticked until the set is picked in the list, then exactly its units
        page.goto(f"{live_server}/cases/{second.id}/do/accept")
        expect(page.get_by_role("button", name="应用")).to_be_hidden()  # the script ticks the units at once
        page.get_by_label("市农业农村局", exact=True).check()  # a unit not in the set: cleared by the set
        page.select_option("#f-unit-preset", label="工业类专业镇常用会审单位（6 个单位）")
        assert ticked(page) == sorted(INDUSTRY)
        screenshots(page, "office-unit-presets-apply")
        page.locator("main form button[type=submit]").last.click()
        expect(page.locator(".flash.success")).to_contain_text("受理并发起会审")
        assert sorted(reload(db, second.id).data["consulted_units"]) == industry

        # the list of sets, from the form's link
        page.goto(f"{live_server}/unit-presets")
        expect(page.locator("td.preset-name")).to_have_text(["工业类专业镇常用会审单位"])
        expect(page.locator("td.preset-units")).to_contain_text("市发改委")
        screenshots(page, "office-unit-presets-list")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="删除").click()
        expect(page.locator(".flash.success")).to_have_text("已删除常用组合“工业类专业镇常用会审单位”。")
        expect(page.locator(".empty")).to_have_text("还没有常用组合。")
