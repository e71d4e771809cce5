"""The statistics report in Chromium, as the county fills it and the office checks it: last year's figure beside
each field, a large change marked with a box for its reason after saving, the report submitted, and the office's
panel showing the change with the county's reason. Screenshots at 1366 and 390 px are kept under test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from browsing import log_in as login
from browsing import shots
from playwright.sync_api import expect

from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.statistics.campaign import open_reports

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DAY = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)
LAST_YEAR = {"output_yi": 12.5, "tax_wan": 3200, "market_entities": 860, "above_scale_firms": 14, "employees": 5200,
             "high_tech_firms": 3, "specialised_firms": 2, "invention_patents": 11, "geographical_indications": 1,
             "service_platforms": 2, "key_projects": 4, "project_investment_yi": 6.8}


def test_the_county_explains_a_doubled_output_and_the_office_reads_why(page, live_server, make, db):
    office = make.user("office", username="office_zhang")
    county = make.user("county", county="盂县", username="yx_clerk")
    town = make.town("西烟镇", county="盂县")
    with transaction(db) as s:
        (earlier,) = open_reports(session=s, actor=make.actor(office), now=DAY, year=2025)
        fire(session=s, case_id=earlier.id, trigger="submit_figures", actor=make.actor(county), now=DAY,
             payload={"figures": LAST_YEAR})
        fire(session=s, case_id=earlier.id, trigger="accept_figures", actor=make.actor(office), now=DAY)
        (report,) = open_reports(session=s, actor=make.actor(office), now=DAY, year=2026)
    assert report.town_id == town.id
    with time_machine.travel(DAY, tick=True):
        page.set_viewport_size({"width": 1366, "height": 900})
        login(page, live_server, "yx_clerk")
        page.get_by_role("link", name=report.number).click()
        page.locator("#now-panel [data-trigger=save_figures] .step").click()
        expect(page.locator("[data-field=output_yi] .last-year")).to_have_text("上年：12.5")
        expect(page.locator("[data-field=tax_wan] .last-year")).to_have_text("上年：3200")
        for key, value in {**LAST_YEAR, "output_yi": 25, "invention_patents": 12}.items():
            page.fill(f"#f-{key}", str(value))
        page.get_by_role("button", name="保存").click()
        expect(page.locator(".flash.success")).to_contain_text("已保存")
        moved = page.locator("[data-field=output_yi].moved")
        expect(moved.locator(".badge.warn")).to_have_text(
            "主导产业产值由上年的 12.5亿元 变为 25亿元（+100%），请说明原因")
        expect(page.locator(".figure.moved")).to_have_count(1)  # patents +9 %: nothing to explain
        shots(page, "statistics-form-county", fits=True)
        page.fill("#why-output_yi", "新增两家龙头企业投产")
        page.get_by_label("已与本镇台账核对无误").check()
        page.get_by_role("button", name="报送领导小组办公室").click()
        expect(page.locator(".flash.success")).to_contain_text("统计报表已报送领导小组办公室")
        expect(page.locator("#statistics [data-field=output_yi]")).to_contain_text("新增两家龙头企业投产")

        page.context.clear_cookies()
        login(page, live_server, "office_zhang")
        page.goto(f"{live_server}/cases/{report.id}")
        changes = page.locator("#now-panel [data-section=changes]")
        expect(changes).to_contain_text("主导产业产值由上年的 12.5亿元 变为 25亿元（+100%）")
        expect(changes).to_contain_text("新增两家龙头企业投产")
        shots(page, "statistics-case-office", fits=True)
