"""Every time a person reads is Beijing time, from one function: a UTC 16:30 is 00:30 the next day in 阳泉."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import login
from workflow.core.calendar import shown_time
from workflow.designation.documents import opinion_rows

LATE_UTC = "2026-12-03T16:30:00+00:00"  # 2026-12-04 00:30 in Beijing


def test_a_utc_afternoon_is_shown_as_the_next_beijing_morning():
    assert shown_time(datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == "2026-12-04 00:30"
    assert shown_time(datetime(2026, 12, 3, 16, 30)) == "2026-12-04 00:30"  # naive values are UTC
    assert shown_time(LATE_UTC) == "2026-12-04 00:30"  # as a case's data keeps it
    assert shown_time(LATE_UTC, "%Y-%m-%d") == "2026-12-04"
    assert shown_time(None) == "" and shown_time("") == ""


def test_the_opinion_sheet_dates_an_answer_by_its_beijing_day():
    rows = opinion_rows({"consulted_units": [7], "opinions": {"7": {"unit": "市科技局", "answer": "agree",
                                                                     "by": "李科技", "at": LATE_UTC}}}, {})
    assert rows[0]["date"] == "2026-12-04"


def test_opinion_times_on_the_case_page_are_beijing_time(client, make):
    office = make.user("office")
    unit = make.unit("市科技局", "member")
    case = make.case(state="consultation", data={
        "consulted_units": [unit.id],
        "opinions": {str(unit.id): {"unit": "市科技局", "answer": "agree", "reason": "", "by": "李科技",
                                    "at": LATE_UTC}}})
    login(client, office.username)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "2026-12-04 00:30" in page
    assert "2026-12-03 16:30" not in page and "16:30" not in page


def test_inspection_findings_are_dated_in_beijing_time(client, make):
    office = make.user("office")
    town = make.town()
    inspection = make.case("inspection", town=town, state="in_progress", data={
        "findings": [{"no": 1, "text": "台账不全", "severity": "low", "decision": None, "by": "王检查",
                      "at": LATE_UTC}]})
    login(client, office.username)
    page = client.get(f"/cases/{inspection.id}").get_data(as_text=True)
    assert "台账不全" in page
    assert "王检查 · 2026-12-04 00:30" in page
    assert "2026-12-03" not in page.split("台账不全", 1)[1].split("</tr>", 1)[0]
