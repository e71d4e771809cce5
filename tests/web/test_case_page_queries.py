"""The case page reads each thing it shows once: the case (with the access rule), its deadlines, its reminders."""

from __future__ import annotations

import sqlalchemy as sa

from conftest import COMPLETE_APPLICATION, login
from workflow.core import db as core_db


def test_the_case_page_reads_the_case_once_and_its_deadlines_in_two_queries(make, app, monkeypatch):
    town = make.town("西烟镇", county="盂县")
    clerk = make.user("county", county="盂县", username="yx_clerk")
    make.user("office", username="office_staff")
    case = make.case("designation", town=town, by=clerk, state="consultation", data=COMPLETE_APPLICATION)
    reads: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        reads.append(statement)

    original = core_db.Prepared.fetch

    def fetch(self, conn, params):
        reads.append(str(self.statement))
        return original(self, conn, params)

    for username in ("office_staff", "yx_clerk"):
        client = app.test_client()
        assert login(client, username).status_code == 302
        assert client.get(f"/cases/{case.id}").status_code == 200  # the caches of loaded tables warmed
        reads.clear()
        engine = app.extensions["zyz"]["engine"]
        sa.event.listen(engine, "before_cursor_execute", on_execute)
        monkeypatch.setattr(core_db.Prepared, "fetch", fetch)
        try:
            page = client.get(f"/cases/{case.id}")
        finally:
            sa.event.remove(engine, "before_cursor_execute", on_execute)
            monkeypatch.setattr(core_db.Prepared, "fetch", original)
        assert page.status_code == 200 and "西烟镇" in page.get_data(as_text=True)
        case_reads = [r for r in reads if "FROM case_file" in r and "case_file.id = " in r]
        deadline_reads = [r for r in reads if "FROM deadline" in r]
        assert len(case_reads) == 1, username
        assert len(deadline_reads) == 2, username  # the open expiry deadlines; the reminders, sent or not
