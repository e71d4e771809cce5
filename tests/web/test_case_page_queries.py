"""The case page reads each thing it shows once: the case (with the access rule), its deadlines, its reminders."""

from __future__ import annotations

from statements import counted

from conftest import COMPLETE_APPLICATION, login


def test_the_case_page_reads_the_case_once_and_its_deadlines_in_two_queries(make, app, monkeypatch):
    town = make.town("西烟镇", county="盂县")
    clerk = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_staff")
    case = make.case("designation", town=town, by=clerk, state="consultation", data=COMPLETE_APPLICATION)
    for username in ("office_staff", "yx_clerk"):
        client = app.test_client()
        assert login(client, username).status_code == 302
        assert client.get(f"/cases/{case.id}").status_code == 200  # the caches of loaded tables warmed
        with counted(app, monkeypatch) as reads:
            page = client.get(f"/cases/{case.id}")
        assert page.status_code == 200 and "西烟镇" in page.get_data(as_text=True)
        case_reads = [r for r in reads if "FROM case_file" in r and "case_file.id = " in r]
        deadline_reads = [r for r in reads if "FROM deadline" in r]
        assert len(case_reads) == 1, username
        assert len(deadline_reads) == 2, username  # the open expiry deadlines; the reminders, sent or not
