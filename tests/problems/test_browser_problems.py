"""The problem ledger in Debian's Chromium: the office logs a problem with a photo of it on the log form, finds it
in the ledger by its category, assigns it on the case page's form; the responsible member unit finds it in its
inbox. Screenshots at 1366 and 390 px are kept under test-artifacts/ (problems-*)."""

from __future__ import annotations

import ledger_world
import pytest
from browsing import open_as, shots
from playwright.sync_api import expect

from conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
people = ledger_world.people  # the fixture
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_the_office_logs_and_assigns_a_problem_and_the_unit_finds_it(browser, live_server, people, tmp_path):
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(PNG)
    context, page = open_as(browser, live_server, "office_staff")
    page.goto(f"{live_server}/problems")
    expect(page.get_by_role("heading", name="问题台账")).to_be_visible()
    page.get_by_role("link", name="登记问题").click()
    page.select_option("#town_id", label="西烟镇")
    page.get_by_role("radio", name="用地").check()
    page.fill("#f-description", "铸造产业园区用地指标不足，两家企业扩产项目无法落地")
    page.get_by_role("radio", name="企业反映").check()
    page.fill("#f-enterprise_name", "盂县华盛铸造有限公司")
    page.set_input_files("#f-evidence", str(photo))
    shots(page, "problems-log", fits=True)
    page.get_by_role("button", name="登记问题").click()
    expect(page.locator(".flash")).to_contain_text("已登记")
    expect(page.locator("#problem-detail")).to_contain_text("盂县华盛铸造有限公司")
    expect(page.get_by_text("现场照片.png")).to_be_visible()

    page.get_by_role("link", name="交办").first.click()
    page.select_option("#f-responsible_unit_id", label="市发改委")
    page.get_by_role("button", name="交办").click()
    expect(page.locator("#problem-detail")).to_contain_text("市发改委")
    shots(page, "problems-case", fits=True)

    page.goto(f"{live_server}/problems")
    page.select_option("#f-category", "land")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("#problem-ledger tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("西烟镇")
    expect(rows.first).to_contain_text("已交办待答复")
    shots(page, "problems-ledger", fits=True)
    context.close()

    context, page = open_as(browser, live_server, "fgw_staff")
    expect(page.locator("main")).to_contain_text("铸造产业园区用地指标不足")
    page.screenshot(path=str(ARTIFACTS / "problems-unit-inbox.png"), full_page=True)
    context.close()
