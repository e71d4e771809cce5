"""Another city runs the system by its profile alone: with definitions/profiles/example.yaml (晋中市) the
designation chain runs from the application to the designation notice, and every document it writes carries that
city's bodies, plan and 文号 — nothing says 阳泉."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from docx import Document
from sqlmodel import select

from conftest import COMPLETE_APPLICATION, csrf_token, login, reload
from workflow.core import profile
from workflow.core.actors import Actor
from workflow.core.attachments import stored_path, upload_root
from workflow.core.db import transaction
from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment, Unit
from workflow.designation import experts
from workflow.seed import ensure_reference_units

EXAMPLE = DEFINITIONS_DIR / "profiles" / "example.yaml"
SCORES = {"agglomeration": 26, "leading_enterprises": 18, "supporting_chain": 13, "brands_standards": 13,
          "innovation_environment": 18}


def docx_text(content: bytes) -> str:
    """Every paragraph and table cell of a .docx (python-docx), then the text of every other part (headers,
    footers, properties) so that nothing printed anywhere escapes the check."""
    doc = Document(io.BytesIO(content))
    lines = [p.text for p in doc.paragraphs]
    lines += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    for section in doc.sections:
        lines += [p.text for part in (section.header, section.footer) for p in part.paragraphs]
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        lines += [re.sub(r"<[^>]+>", "", package.read(n).decode("utf-8")) for n in package.namelist()
                  if n.endswith(".xml")]
    return "\n".join(lines)


@pytest.fixture
def jinzhong(db, now):
    city = profile.use_profile(EXAMPLE)
    with transaction(db) as s:
        ensure_reference_units(s, now)
    return city


def test_the_example_profile_seeds_its_own_units(db, jinzhong):
    with transaction(db) as s:
        units = {(u.name, u.kind) for u in s.exec(select(Unit)).all()}
    assert ("平遥县", "county") in units and ("晋中市工信局（领导小组办公室）", "office") in units
    assert ("晋中市专业镇建设领导小组", "leading_group") in units and ("晋中市科技局", "member") in units
    assert not any("阳泉" in name or name == "盂县" for name, _ in units)


def test_the_designation_chain_runs_on_another_city_and_its_documents_are_that_citys(make, db, now, jinzhong):
    county = make.user("county", county="平遥县")
    office = make.user("office", unit=jinzhong.office)
    member = make.user("member", unit="晋中市科技局")
    leader = make.user("leader", unit=jinzhong.leading_group)
    town = make.town("古陶镇", county="平遥县")
    case = make.case("designation", town=town, by=county, data=dict(COMPLETE_APPLICATION))
    steps = [
        (county, "submit", {}, None),
        (office, "accept", {"member_units": [member.unit_id], "opinion_due_date": "2026-12-04"}, None),
        (member, "record_opinion", {"opinion": "agree"}, None),
        (office, "conclude", {}, None),
        (office, "record_experts", {"experts": [experts.expert("王教授", "太原理工大学", SCORES)],
                                    "expert_recommendation": "建议认定"}, None),
        (office, "propose", {}, None),
        (leader, "approve", {}, None),
    ]
    for user, trigger, payload, comment in steps:
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(user), now=now, payload=payload,
                 comment=comment)
    assert reload(db, case.id).state == "publicity"
    later = now + timedelta(days=8)  # the five working days of the public notice are over
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="publicity_end", actor=Actor.system(), now=later)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="issue_notice", actor=make.actor(office), now=later)
    issued = reload(db, case.id)
    assert issued.state == "designated" and issued.data["designation_number"] == "晋专镇〔2026〕1号"

    with transaction(db) as s:
        files = {a.kind: stored_path(upload_root(), a.sha256).read_bytes()
                 for a in s.exec(select(Attachment).where(Attachment.case_id == case.id,
                                                          Attachment.kind.in_(  # type: ignore[attr-defined]
                                                              ("opinion_sheet", "publicity_announcement",
                                                               "designation_notice")))).all()}
    assert set(files) == {"opinion_sheet", "publicity_announcement", "designation_notice"}
    texts = {kind: docx_text(content) for kind, content in files.items()}
    for kind, body in texts.items():
        assert "阳泉" not in body and "阳专镇" not in body and "阳政办发" not in body, kind
    notice = texts["designation_notice"]
    assert "晋专镇〔2026〕1号" in notice and "晋中市专业镇建设领导小组" in notice
    assert "关于认定平遥县古陶镇为市级专业镇的通知" in notice
    assert "晋中市专业镇建设领导小组办公室" in notice  # the colophon's 印发机关
    assert "《晋中市推进专业镇高质量发展实施方案》（市政办发〔2023〕31号）" in notice
    announcement = texts["publicity_announcement"]
    assert "晋中市专业镇建设领导小组办公室（设在市工业和信息化局）" in announcement and "古陶镇" in announcement


# ---- the city's eligibility thresholds (the profile's `thresholds:`) -----------------------------------------


def test_the_submit_guard_applies_the_citys_thresholds(make, db, now):
    county = make.user("county", county="盂县")
    case = make.case("designation", by=county, data={**COMPLETE_APPLICATION, "output_yi": 9})
    with pytest.raises(Unprocessable) as raised, transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
    assert [r["zh"] for r in raised.value.details] == ["制造业类主导产业产值 9.00 亿元，低于 10 亿元"]
    profile.use_profile(EXAMPLE)  # 晋中市: 8 亿元 for manufacturing
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
    assert reload(db, case.id).state == "submitted"


def test_the_form_and_its_live_preview_show_the_citys_thresholds(make, client, tmp_path):
    city = tmp_path / "city.yaml"
    city.write_text(EXAMPLE.read_text(encoding="utf-8") + "  output_relaxed: 0.3\n", encoding="utf-8")
    login(client, make.user("county", county="盂县").username)
    assert "但年产值不少于 0.5 亿元" in client.get("/cases/new/application").get_data(as_text=True)
    profile.use_profile(city)
    assert "但年产值不少于 0.3 亿元" in client.get("/cases/new/application").get_data(as_text=True)
    form = {"town_id": "new", "new_town": "东风镇", "industry_category": "manufacturing", "output_yi": "9",
            "csrf_token": csrf_token(client, "/inbox")}
    page = client.post("/cases/eligibility-preview", data=form).get_data(as_text=True)
    assert "制造业类主导产业产值 9.00 亿元，达到 8 亿元" in page
