"""The office's everyday forms in Debian's Chromium, as a person uses them: member units chosen by the annex's
groups with 全选, the default opinion deadline shown as a date, 催办 of the units that have not answered after a
confirmation, the expert table adding up each expert's total as it is typed. Screenshots at 1366 and 390 px."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from browsing import log_in as login
from browsing import shots as screenshots
from playwright.sync_api import expect

from conftest import COMPLETE_APPLICATION
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.seed import ensure_reference_units

pytestmark = [pytest.mark.browser, pytest.mark.slow]
START = datetime(2026, 11, 27, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # a Friday morning in Yangquan


def test_the_office_accepts_by_groups_chases_the_silent_unit_and_scores_experts_in_a_table(
        page, live_server, make, db, now):
    with transaction(db) as s:
        ensure_reference_units(s, now)
    county = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", unit="市工信局（领导小组办公室）", username="office_zhang")
    keji = make.user("member", unit="市科技局", username="keji_zhao")
    make.user("member", unit="市农业农村局", username="nongye_sun")
    case = make.case(state="submitted", by=county)
    reviewed = make.case(state="expert_review", by=county, data=dict(COMPLETE_APPLICATION))
    with time_machine.travel(START, tick=True):
        login(page, live_server, "office_zhang")

        # 受理: the units in the annex's groups, 全选 per group, the default deadline as a date
        page.goto(f"{live_server}/cases/{case.id}/do/accept")
        groups = page.locator("fieldset.unit-group")
        expect(groups.locator("legend")).to_have_text(
            ["市委部门", "市政府部门", "中央和省驻阳单位", "群团组织和新闻单位"])
        party = groups.nth(0)
        expect(party.locator("label.check")).to_have_text(["市委组织部", "市委宣传部", "市委统战部"])
        party.get_by_role("button", name="全选").click()
        for box in party.locator("input[type=checkbox]").all():
            expect(box).to_be_checked()
        party.get_by_role("button", name="全选").click()  # all ticked: a second click clears the group
        for box in party.locator("input[type=checkbox]").all():
            expect(box).not_to_be_checked()
        expect(page.locator(".default-date")).to_have_text("不填写时，期限为 2026-12-08。")
        page.get_by_label("市科技局").check()
        page.get_by_label("市农业农村局").check()
        screenshots(page, "office-accept-units")
        page.locator("main form button[type=submit]").last.click()
        expect(page.locator(".flash.success")).to_contain_text("受理并发起会审")
        expect(page.locator("#opinions")).to_contain_text("2026-12-08")

        with transaction(db) as s:  # 市科技局 answers; 市农业农村局 stays silent
            fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(keji),
                 now=datetime.now(UTC), payload={"opinion": "agree"})

        # 催办: read who is reminded, confirm, sent
        page.goto(f"{live_server}/cases/{case.id}")
        page.locator("#chase-opinions").click()
        expect(page.locator("h1")).to_have_text("催办未提出意见的成员单位")
        expect(page.locator("td.owing")).to_have_text(["市农业农村局"])
        screenshots(page, "office-chase-opinions")
        page.get_by_role("button", name="发送催办").click()
        expect(page.locator(".field-error")).to_have_text("请勾选确认框。")
        page.check("input[name=confirmed]")
        page.get_by_role("button", name="发送催办").click()
        expect(page.locator(".flash.success")).to_have_text("已就 1 件案件向 1 人发送催办。")

        # 专家评审: a table, each total the sum of the row as typed
        page.goto(f"{live_server}/cases/{reviewed.id}/do/record_experts")
        row = page.locator("table[data-expert-table] tbody tr").first
        row.locator("input[name=expert_name]").fill("刘教授")
        row.locator("input[name=expert_affiliation]").fill("太原理工大学")
        for box, score in zip(row.locator("input[data-max]").all(), (26, 18, 13, 13, 18), strict=True):
            box.fill(str(score))
        expect(row.locator("[data-total]")).to_have_text("88")
        page.fill("#f-expert_recommendation", "建议认定")
        screenshots(page, "office-expert-table")
        page.locator("main form button[type=submit]").last.click()
        expect(page.locator(".flash.success")).to_contain_text("录入专家评审")
        expect(page.locator("#experts table")).to_contain_text("太原理工大学")
        expect(page.locator("#experts table tr").last).to_contain_text("88")


def test_a_finding_is_picked_from_the_list_with_its_evidence_and_overdue_orders_are_chased(
        page, live_server, make, db, now, tmp_path):
    from datetime import timedelta

    office = make.user("office", unit="市工信局（领导小组办公室）", username="office_zhang")
    make.user("county", county="盂县", username="yx_clerk")
    inspection = make.case("inspection", state="in_progress", by=office)
    order = make.case("rectification", county="盂县", by=office,
                      data={"problem": "厂区扬尘", "severity": "medium", "due_date": "2026-12-10"})
    photo = tmp_path / "台账照片.pdf"
    photo.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    with time_machine.travel(START, tick=True) as clock:
        login(page, live_server, "office_zhang")
        page.goto(f"{live_server}/cases/{inspection.id}/do/record_finding")
        page.select_option("#f-finding_type", label="工作台账、档案资料不完整")
        page.get_by_label("一般").check()
        page.set_input_files("#f-finding_files", str(photo))
        screenshots(page, "office-finding-form")
        page.locator("main form button[type=submit]").last.click()
        expect(page.locator(".flash.success")).to_contain_text("登记检查发现")
        finding = page.locator("section table.list tbody tr").first
        expect(finding.locator("pre")).to_have_text("工作台账、档案资料不完整")
        # the evidence is named by its file, not by a number
        evidence = finding.locator("td.evidence a[href^='/attachments/']")
        expect(evidence).to_have_text(["台账照片.pdf"])
        expect(finding.locator("td.evidence")).not_to_contain_text("#")
        expect(page.locator("#attachments")).to_contain_text("台账照片.pdf")
        screenshots(page, "office-finding-evidence")

        clock.move_to(START + timedelta(days=20))  # 17 December: the order's deadline (10 December) has passed
        login(page, live_server, "office_zhang")
        page.goto(f"{live_server}/supervision")
        page.locator("#chase-orders").click()
        expect(page.locator("td.owing")).to_have_text(["盂县"])
        expect(page.locator("table.chase-list")).to_contain_text(order.number)
        expect(page.locator("table.chase-list .badge.late")).to_have_text("已逾期")
        screenshots(page, "office-chase-orders")
        page.check("input[name=confirmed]")
        page.get_by_role("button", name="发送催办").click()
        expect(page.locator(".flash.success")).to_have_text("已就 1 件案件向 1 人发送催办。")
