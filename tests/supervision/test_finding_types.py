"""Inspection findings picked from the list of definitions/findings.yaml, with evidence uploaded in the same form:
the files are kept only when the finding is."""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from conftest import login, reload
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment
from workflow.supervision.findings import FindingTypesError, finding_types, parse_types

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def test_the_list_is_read_from_definitions_and_checked():
    assert [t.key for t in finding_types()][:2] == ["output_data", "leading_enterprise_decline"]
    with pytest.raises(FindingTypesError) as bad:
        parse_types("key: finding_types\nlabel: {zh: 甲, en: A}\ntypes:\n"
                    "  - {key: x, label: {zh: 乙, en: B}, severity: extreme}\n", "findings.yaml")
    assert bad.value.errors == ["findings.yaml: types[0].severity: must be one of low, medium, high"]


def test_a_kind_from_the_list_stands_for_the_text_and_an_unknown_one_is_refused(make, db, now):
    office = make.user("office")
    inspection = make.case("inspection", state="in_progress", by=office)
    with transaction(db) as s:
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(office), now=now,
             payload={"finding": {"type": "funds_misused", "text": "", "severity": "high"}})
    [finding] = reload(db, inspection.id).data["findings"]
    assert (finding["type"], finding["text"]) == ("funds_misused", "扶持资金使用不规范")
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(office), now=now,
             payload={"finding": {"type": "nonsense", "text": "", "severity": "high"}})
    assert "请从常见问题列表中选择问题类型" in refused.value.zh


def test_the_form_picks_a_kind_and_uploads_evidence_with_the_finding(app, make, db):
    make.user("office", username="office_staff")
    inspection = make.case("inspection", state="in_progress")
    client = app.test_client()
    login(client, "office_staff")
    url = f"/cases/{inspection.id}/do/record_finding"
    form = client.get(url).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'name="finding_files"' in form
    assert '<option value="output_data" data-severity="high" >主导产业产值等数据统计不实</option>' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    def post(data, files):
        body = {"csrf_token": token, "expected_version": str(reload(db, inspection.id).version), **data,
                "finding_files": [(io.BytesIO(content), name) for name, content in files]}
        return client.post(url, data=body, content_type="multipart/form-data")

    refused = post({"finding_type": "ledger_incomplete"}, [("照片.pdf", PDF)])  # no severity: nothing is kept
    assert refused.status_code == 422
    with transaction(db) as s:
        assert s.exec(select(Attachment).where(Attachment.case_id == inspection.id)).all() == []
    done = post({"finding_type": "ledger_incomplete", "finding_severity": "low", "finding_text": "2026年台账缺3个月"},
                [("台账照片.pdf", PDF), ("检查记录.pdf", PDF)])
    assert done.status_code == 302
    [finding] = reload(db, inspection.id).data["findings"]
    with transaction(db) as s:
        files = s.exec(select(Attachment).where(Attachment.case_id == inspection.id)).all()
    assert sorted(a.filename for a in files) == ["台账照片.pdf", "检查记录.pdf"]
    assert (finding["type"], finding["text"]) == ("ledger_incomplete", "2026年台账缺3个月")
    assert sorted(finding["attachments"]) == sorted(a.id for a in files)
