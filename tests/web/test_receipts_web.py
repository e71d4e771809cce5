"""Receipts (签收) on the pages and in the API: the county finds its notices to acknowledge (menu count, list, case
page), confirms before it acknowledges, and the office sees who has and has not signed, when, and what is overdue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import select

from conftest import COMPLETE_APPLICATION, api_headers, csrf_token, footprint, login
from workflow.core import receipts
from workflow.core.actors import Actor
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import AuditEvent, NoticeReceipt

REVIEWED = {**COMPLETE_APPLICATION, "experts": [{"name": "甲", "score": 80}], "expert_recommendation": "同意"}
ISSUED = datetime(2026, 11, 27, 10, tzinfo=LOCAL_TZ).astimezone(UTC)  # Friday: to acknowledge by 2 December
IN_TIME = datetime(2026, 11, 30, 10, tzinfo=LOCAL_TZ).astimezone(UTC)
LATER = datetime(2026, 12, 3, 10, tzinfo=LOCAL_TZ).astimezone(UTC)  # the day to acknowledge by has passed


def text(response) -> str:
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    return body


def _designate(db, make, *, county: str, town: str):
    """A designated town: its designation notice waits for the county's acknowledgement."""
    clerk = make.user("county", county=county)
    case = make.case("designation", state="notice_pending", county=county, town=make.town(town, county=county),
                     by=clerk, data=REVIEWED)
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="issue_notice", actor=office, now=ISSUED)
        receipt = s.exec(select(NoticeReceipt).where(NoticeReceipt.case_id == case.id)).one()
    return case, receipt, clerk


def _row(db, receipt_id: int) -> NoticeReceipt:
    with transaction(db) as s:
        return s.get(NoticeReceipt, receipt_id)


@pytest.fixture
def world(db, make):
    make.now = ISSUED
    yx_case, yx_receipt, yx_clerk = _designate(db, make, county="盂县", town="梁家寨乡")
    pd_case, pd_receipt, pd_clerk = _designate(db, make, county="平定县", town="娘子关镇")
    return {"yx": (yx_case, yx_receipt, yx_clerk), "pd": (pd_case, pd_receipt, pd_clerk),
            "office": make.user("office"), "leader": make.user("leader")}


def test_the_county_confirms_then_acknowledges_its_notice_from_the_case_page(app, db, world):
    case, receipt, clerk = world["yx"]
    browser = app.test_client()
    with time_machine.travel(IN_TIME, tick=False):
        login(browser, clerk.username)
        inbox = text(browser.get("/inbox"))
        assert "待签收" in inbox and 'aria-label="1 份通知待签收"' in inbox  # the menu counts what waits

        page = text(browser.get(f"/cases/{case.id}"))
        assert "认定通知-阳专镇〔2026〕1号.docx" in page and "未签收" in page and "签收期限 2026-12-02" in page
        button = re.search(r'href="(/receipts/\d+/acknowledge\?next=[^"]+)"', page)
        assert button and f"/receipts/{receipt.id}/acknowledge" in button.group(1)

        confirm = browser.get(button.group(1).replace("&amp;", "&"))
        body = text(confirm)
        assert confirm.status_code == 200 and "签收通知" in body and "我确认本县（区）已收到该通知。" in body
        token = csrf_token(browser, f"/receipts/{receipt.id}/acknowledge")

        before = footprint(db)
        unconfirmed = browser.post(f"/receipts/{receipt.id}/acknowledge",
                                   data={"csrf_token": token, "next": f"/cases/{case.id}"})
        assert unconfirmed.status_code == 422 and "请勾选，确认本县（区）已收到该通知。" in text(unconfirmed)
        assert footprint(db) == before and _row(db, receipt.id).acknowledged_at is None

        done = browser.post(f"/receipts/{receipt.id}/acknowledge",
                            data={"csrf_token": token, "confirmed": "yes", "next": f"/cases/{case.id}"})
        assert done.status_code == 302 and done.headers["Location"] == f"/cases/{case.id}"
        after = text(browser.get(f"/cases/{case.id}"))
        assert "已签收：认定通知-阳专镇〔2026〕1号。" in after
        assert "已签收" in after and clerk.display_name in after and "2026-11-30 10:00" in after
        assert f"/receipts/{receipt.id}/acknowledge" not in after  # no button any more
        assert "份通知待签收" not in text(browser.get("/inbox"))

        again = browser.post(f"/receipts/{receipt.id}/acknowledge",
                             data={"csrf_token": token, "confirmed": "yes", "next": "/receipts"})
        assert again.status_code == 302 and again.headers["Location"] == "/receipts"
        assert "该通知已于 2026-11-30 10:00 由" in text(browser.get("/receipts"))
        shown = text(browser.get(f"/receipts/{receipt.id}/acknowledge"))
        assert "该通知已签收，无需再次签收。" in shown and 'name="confirmed"' not in shown
    row = _row(db, receipt.id)
    assert (row.acknowledged_at, row.acknowledged_by_id) == (IN_TIME, clerk.id)
    with transaction(db) as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.kind == "receipt_acknowledged")).all()) == 1


def test_after_acknowledging_the_county_goes_back_only_to_a_page_of_this_site(app, db, world):
    case, receipt, clerk = world["yx"]
    browser = app.test_client()
    with time_machine.travel(IN_TIME, tick=False):
        login(browser, clerk.username)
        token = csrf_token(browser, f"/receipts/{receipt.id}/acknowledge")
        done = browser.post(f"/receipts/{receipt.id}/acknowledge",
                            data={"csrf_token": token, "confirmed": "yes", "next": "//evil.example/x"})
    assert done.status_code == 302 and done.headers["Location"] == f"/cases/{case.id}"


def test_the_countys_list_shows_its_own_notices_waiting_first(app, db, world):
    _, yx_receipt, yx_clerk = world["yx"]
    _, pd_receipt, _ = world["pd"]
    browser = app.test_client()
    with time_machine.travel(LATER, tick=False):
        login(browser, yx_clerk.username)
        page = text(browser.get("/receipts"))
        assert "认定通知-阳专镇〔2026〕1号.docx" in page and "逾期" in page
        assert "认定通知-阳专镇〔2026〕2号.docx" not in page  # 平定县's
        assert f"/receipts/{yx_receipt.id}/acknowledge" in page
        assert "没有相关通知。" in text(browser.get("/receipts?status=signed"))
        assert browser.get(f"/receipts/{pd_receipt.id}/acknowledge").status_code == 404
        assert browser.get("/receipts/overview").status_code == 403


def test_the_office_sees_who_has_and_has_not_signed(app, db, world):
    _, yx_receipt, yx_clerk = world["yx"]
    _, pd_receipt, _ = world["pd"]
    with transaction(db) as s:
        receipts.acknowledge(s, Actor.of(yx_clerk, None), yx_receipt.id, IN_TIME)
    browser = app.test_client()
    with time_machine.travel(LATER, tick=False):
        login(browser, world["office"].username)
        page = text(browser.get("/receipts/overview"))
        assert "签收情况" in page
        rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
        signed = next(r for r in rows if "1号.docx" in r)
        waiting = next(r for r in rows if "2号.docx" in r)
        assert "盂县" in signed and "已签收" in signed and "2026-11-30 10:00" in signed
        assert yx_clerk.display_name in signed
        assert "平定县" in waiting and "未签收" in waiting and "已逾期" in waiting and "签收期限 2026-12-02" in waiting
        assert page.index("2号.docx") < page.index("1号.docx")  # what waits comes first
        unsigned = text(browser.get("/receipts/overview?status=unsigned"))
        assert "2号.docx" in unsigned and "1号.docx" not in unsigned
        one = text(browser.get(f"/receipts/overview?county={yx_receipt.unit_id}"))
        assert "1号.docx" in one and "2号.docx" not in one
        assert browser.get("/receipts").status_code == 403
        assert browser.get(f"/receipts/{pd_receipt.id}/acknowledge").status_code == 403
        english = app.test_client()
        login(english, world["leader"].username)
        english.post("/language", data={"lang": "en", "csrf_token": csrf_token(english, "/password")})
        page = text(english.get("/receipts/overview"))
        assert "Notice acknowledgements" in page and "not acknowledged" in page and "overdue" in page


def test_the_county_is_reminded_in_its_notification_centre(app, db, world):
    _, receipt, clerk = world["pd"]
    with transaction(db) as s:
        assert receipts.remind_due(s, now=LATER) == 2
    browser = app.test_client()
    with time_machine.travel(LATER, tick=False):
        login(browser, clerk.username)
        page = text(browser.get("/notifications"))
    assert "通知《认定通知-阳专镇〔2026〕2号》尚未签收（签收期限 2026-12-02），请及时签收。" in page
    assert _row(db, receipt.id).reminded_at == LATER


def test_the_api_lists_the_callers_notices_and_acknowledges_once(app, db, world):
    _, yx_receipt, yx_clerk = world["yx"]
    _, pd_receipt, _ = world["pd"]
    client = app.test_client()
    with time_machine.travel(LATER, tick=False):
        county = api_headers(client, yx_clerk.username)
        office = api_headers(client, world["office"].username)
        mine = client.get("/api/v1/receipts", headers=county)
        assert mine.status_code == 200
        [item] = mine.json["items"]
        assert (item["id"], item["unit_name"], item["overdue"], item["acknowledged_at"]) == (yx_receipt.id, "盂县",
                                                                                             True, None)
        assert item["remind_date"] == "2026-12-02" and item["filename"] == "认定通知-阳专镇〔2026〕1号.docx"
        assert item["download_url"] == f"/api/v1/attachments/{item['attachment_id']}"

        done = client.post(f"/api/v1/receipts/{yx_receipt.id}/acknowledge", headers=county)
        assert done.status_code == 200
        assert (done.json["acknowledged_by"], done.json["late"], done.json["overdue"]) == (yx_clerk.display_name,
                                                                                          True, False)
        again = client.post(f"/api/v1/receipts/{yx_receipt.id}/acknowledge", headers=county)
        assert again.status_code == 409 and again.json["error"] == "already_acknowledged"
        assert again.json["message"]["zh"].startswith("该通知已于 2026-12-03 10:00 由")
        assert client.post(f"/api/v1/receipts/{pd_receipt.id}/acknowledge", headers=county).status_code == 404
        assert client.post(f"/api/v1/receipts/{pd_receipt.id}/acknowledge", headers=office).status_code == 403

        everything = client.get("/api/v1/receipts", headers=office).json
        assert everything["total"] == 2 and [i["id"] for i in everything["items"]] == [pd_receipt.id, yx_receipt.id]
        unsigned = client.get("/api/v1/receipts?status=unsigned&per_page=1", headers=office).json
        assert (unsigned["total"], [i["id"] for i in unsigned["items"]]) == (1, [pd_receipt.id])
        for bad in ("status=late", "page=0", "per_page=x", "county=-1"):
            answer = client.get(f"/api/v1/receipts?{bad}", headers=office)
            assert answer.status_code == 400 and answer.json["message"]["zh"], bad
    assert _row(db, yx_receipt.id).acknowledged_by_id == yx_clerk.id
    assert _row(db, pd_receipt.id).acknowledged_at is None


def test_the_api_documents_the_receipt_operations(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/api/v1/receipts"]) == {"get"}
    assert "409" in paths["/api/v1/receipts/{receipt_id}/acknowledge"]["post"]["responses"]


def test_a_designation_in_the_past_shows_overdue_on_the_day_after(db, world):
    """The office's overdue mark and the county's count agree with the day to acknowledge by."""
    _, receipt, clerk = world["yx"]
    with transaction(db) as s:
        actor = Actor.of(clerk, None)
        on_the_day = receipts.get_receipt(s, actor, receipt.id, now=datetime(2026, 12, 2, 15, tzinfo=UTC))
        after = receipts.get_receipt(s, actor, receipt.id, now=datetime(2026, 12, 2, 16, tzinfo=UTC))
    assert receipt.remind_date == date(2026, 12, 2)
    assert (on_the_day.overdue, after.overdue) == (False, True)  # 16:00 UTC is midnight in Beijing
