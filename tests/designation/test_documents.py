"""The .docx documents: the joint review's opinion sheet and the leading group's notices."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlmodel import select

from conftest import api_headers, login, reload
from workflow.core import attachments
from workflow.core.actors import Actor
from workflow.core.attachments import stored_path
from workflow.core.db import transaction
from workflow.core.documents import catalog
from workflow.core.engine import fire
from workflow.core.errors import NotFound
from workflow.core.models import Attachment, AuditEvent, Town
from workflow.core.queries import registry_case
from workflow.designation.documents import opinion_sheet_for
from workflow.supervision.documents import criticism_notice
from workflow.towns.documents import attach_designation_notice, designation_notice

APPLICATION = {"industry_category": "manufacturing", "leading_industry": "耐火材料", "main_products": "高铝砖",
               "output_yi": 12.5, "leading_enterprises": [{"name": "盂县耐材集团"}], "supporting_enterprises": 12}


@pytest.fixture
def upload_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "documents"
    monkeypatch.setattr(attachments.settings, "upload_dir", str(root))
    return root


def text_of(content: bytes) -> tuple[list[str], list[list[str]]]:
    """(paragraph texts, rows of the first table's cell texts) of a .docx."""
    doc = Document(io.BytesIO(content))
    rows = [[cell.text for cell in row.cells] for row in doc.tables[0].rows] if doc.tables else []
    return [p.text for p in doc.paragraphs], rows


def every_run_names_an_east_asian_font(content: bytes) -> bool:
    doc = Document(io.BytesIO(content))
    runs = [r for p in doc.paragraphs for r in p.runs]
    runs += [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    fonts = [r._element.rPr.rFonts.get(qn("w:eastAsia")) if r._element.rPr is not None else None for r in runs]
    # GB/T 9704's fonts (their fallbacks are named in the font table)
    return bool(runs) and all(f in ("仿宋_GB2312", "黑体", "方正小标宋简体", "宋体") for f in fonts)


@pytest.fixture
def joint_review(make, db, now, upload_dir):
    """A designation in consultation with three member units: one agrees, one disagrees, one stays silent."""
    county = make.user("county", county="盂县")
    town = make.town("梁家寨乡", county="盂县")
    case = make.case("designation", state="submitted", town=town, by=county, data=dict(APPLICATION))
    office = make.user("office")
    members = [make.user("member", unit=name) for name in ("市科技局", "市发改委", "市商务局")]
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(office), now=now,
             payload={"member_units": [m.unit_id for m in members], "opinion_due_date": "2026-12-04"})
    for member, answer, reason in ((members[0], "agree", None), (members[1], "disagree", "产值数据需核实")):
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(member), now=now,
                 payload={"opinion": answer}, comment=reason)
    return {"case": case, "county": county, "office": office, "members": members, "town": town}


def test_concluding_the_joint_review_attaches_the_opinion_sheet_with_every_unit(make, db, now, joint_review,
                                                                               upload_dir):
    case = joint_review["case"]
    later = now + timedelta(days=14)  # the opinion deadline has passed
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="conclude", actor=make.actor(joint_review["office"]), now=later)
    assert reload(db, case.id).state == "expert_review"
    with transaction(db) as s:
        sheet = s.exec(select(Attachment).where(Attachment.case_id == case.id)).one()
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "attachment_added")).one()
    assert (sheet.kind, sheet.uploaded_by_id, event.role, event.case_id) == ("opinion_sheet", None, "system", case.id)
    assert sheet.filename == f"会审意见汇总表-{case.number}.docx"
    content = stored_path(upload_dir, sheet.sha256).read_bytes()

    paragraphs, rows = text_of(content)
    assert "会审意见汇总表" in paragraphs
    assert any(case.number in p for p in paragraphs) and any("梁家寨乡" in p for p in paragraphs)
    assert any("盂县" in p for p in paragraphs) and any("耐火材料" in p and "12.50 亿元" in p for p in paragraphs)
    assert rows[0] == ["序号", "成员单位", "意见", "理由", "经办人", "日期"]
    by_unit = {row[1]: row for row in rows[1:]}
    assert set(by_unit) == {"市科技局", "市发改委", "市商务局"}
    assert by_unit["市科技局"][2:] == ["同意", "", "member用户", "2026-11-27"]
    assert by_unit["市发改委"][2:] == ["不同意", "产值数据需核实", "member用户", "2026-11-27"]
    assert by_unit["市商务局"][2:] == ["逾期视为无意见", "逾期视为无意见", "", ""]
    assert every_run_names_an_east_asian_font(content)


def test_a_failing_sheet_rolls_the_conclusion_back(make, db, now, joint_review, monkeypatch):
    case = joint_review["case"]

    def broken(**_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("workflow.designation.documents.store_bytes", broken)
    with transaction(db) as s, pytest.raises(OSError):
        fire(session=s, case_id=case.id, trigger="conclude", actor=make.actor(joint_review["office"]),
             now=now + timedelta(days=14))
    assert reload(db, case.id).state == "consultation"


def test_the_opinion_sheet_made_on_the_fly_shows_who_has_not_answered_yet(make, db, now, joint_review):
    with transaction(db) as s:
        name, content = opinion_sheet_for(session=s, actor=make.actor(joint_review["office"]),
                                          case_id=joint_review["case"].id, now=now)
    assert name.endswith(".docx")
    _, rows = text_of(content)
    # In the order the units were invited (by id), with the silent one still pending.
    assert [(r[1], r[2]) for r in rows[1:]] == [("市科技局", "同意"), ("市发改委", "不同意"), ("市商务局", "尚未答复")]
    stranger = make.user("county", county="平定县")
    with transaction(db) as s, pytest.raises(NotFound):
        opinion_sheet_for(session=s, actor=make.actor(stranger), case_id=joint_review["case"].id, now=now)


def test_opinion_sheet_download_is_for_the_office_and_the_leader(make, app, db, joint_review):
    case = joint_review["case"]
    client = app.test_client()
    login(client, joint_review["office"].username)
    response = client.get(f"/cases/{case.id}/opinion-sheet.docx", buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    _, rows = text_of(response.data)
    assert {r[1]: r[2] for r in rows[1:]} == {"市科技局": "同意", "市发改委": "不同意", "市商务局": "尚未答复"}

    for outsider in (make.user("county", county="平定县"), make.user("member", unit="市财政局")):
        client = app.test_client()
        login(client, outsider.username)
        hidden = client.get(f"/cases/{case.id}/opinion-sheet.docx", buffered=True)
        missing = client.get("/cases/999999/opinion-sheet.docx", buffered=True)
        assert hidden.status_code == missing.status_code == 404
        assert "PK" not in hidden.get_data(as_text=True)[:2]
    # The applying county and an invited unit (while the review runs) see the case, but not the sheet
    # (definitions/visibility.yaml): refused, with the reason.
    for insider in (joint_review["county"], joint_review["members"][2]):
        client = app.test_client()
        login(client, insider.username)
        refused = client.get(f"/cases/{case.id}/opinion-sheet.docx", buffered=True)
        assert refused.status_code == 403
        assert "会审意见汇总表仅限领导小组及其办公室查阅" in refused.get_data(as_text=True)


def test_a_case_without_a_joint_review_has_no_opinion_sheet(make, app):
    county = make.user("county")
    case = make.case(by=county)
    client = app.test_client()
    login(client, county.username)
    assert client.get(f"/cases/{case.id}/opinion-sheet.docx").status_code == 404


def test_designation_attaches_the_notice_to_the_case_and_the_town(make, app, db, now):
    upload_dir = Path(app.config["UPLOAD_DIR"])  # create_app points the workflow's documents there too
    county = make.user("county", county="盂县")
    town = make.town("梁家寨乡", county="盂县")
    case = make.case("designation", state="publicity", town=town, by=county, data=dict(APPLICATION))
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="publicity_end", actor=Actor.system(), now=now)
    assert reload(db, case.id).state == "notice_pending"  # the office previews the notice, then issues it
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="issue_notice", actor=make.actor(make.user("office")), now=now)
    designated = reload(db, case.id)
    assert designated.state == "designated"
    number = designated.data["designation_number"]
    assert number == "阳专镇〔2026〕1号"
    with transaction(db) as s:
        notice = s.exec(select(Attachment).where(Attachment.kind == "designation_notice")).one()
        assert registry_case(s, town.id).state == "municipal"
    assert (notice.case_id, notice.town_id, notice.filename) == (case.id, town.id, f"认定通知-{number}.docx")
    content = stored_path(upload_dir, notice.sha256).read_bytes()
    paragraphs, _ = text_of(content)
    body = "\n".join(paragraphs)
    assert paragraphs[0] == "阳泉市专业镇高质量发展领导小组" and paragraphs[1] == number
    assert "关于认定盂县梁家寨乡为市级专业镇的通知" in paragraphs
    assert "各县（区）人民政府，市直各单位：" in paragraphs
    assert "耐火材料（制造业）" in body and "2026年11月27日" in body and "2029年11月27日" in body
    assert paragraphs[-4:-2] == ["阳泉市专业镇高质量发展领导小组", "2026年11月27日"]
    # 版记: copies and the office that printed it, with the date
    assert paragraphs[-1] == "抄送：市委办公室，市人大常委会办公室，市政府办公室，市政协办公室。"
    printed = Document(io.BytesIO(content)).tables[-1].rows[0].cells
    assert [c.text for c in printed] == ["阳泉市专业镇高质量发展领导小组办公室", "2026年11月27日印发"]
    assert every_run_names_an_east_asian_font(content)
    doc = Document(io.BytesIO(content))
    assert str(doc.paragraphs[0].runs[0].font.color.rgb) == "FF0000"
    border = doc.paragraphs[1]._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert border.get(qn("w:color")) == "FF0000"

    # The notice is the town's too: a county user of that county downloads it; another county does not.
    client = app.test_client()
    login(client, county.username)
    response = client.get(f"/attachments/{notice.id}", buffered=True)
    assert response.status_code == 200 and response.data == content
    stranger = make.user("county", county="矿区")
    headers = api_headers(client, stranger.username)
    assert client.get(f"/api/v1/attachments/{notice.id}", headers=headers, buffered=True).status_code == 404


def test_the_notice_service_reads_the_new_data_it_is_given(make, db, now, upload_dir):
    town = make.town("娘子关镇", county="平定县")
    case = make.case("designation", state="publicity", town=town, county="平定县", data=dict(APPLICATION))
    data = {**case.data, "designation_number": "阳专镇〔2026〕7号", "designated_date": "2026-11-27",
            "review_date": "2029-11-27"}
    with transaction(db) as s:
        row = attach_designation_notice(s, s.get(type(case), case.id), now, data=data)
        assert s.get(Town, row.town_id).name == "娘子关镇"
    paragraphs, _ = text_of(stored_path(upload_dir, row.sha256).read_bytes())
    assert "阳专镇〔2026〕7号" in paragraphs and "关于认定平定县娘子关镇为市级专业镇的通知" in paragraphs


def test_designation_notice_without_output_still_reads_well():
    content = designation_notice(number="阳专镇〔2027〕2号", town="西烟镇", county="盂县",
                                 industry="特色轻工（工艺美术）", designated=date(2027, 3, 1), review=date(2030, 3, 1))
    body = "\n".join(text_of(content)[0])
    assert "西烟镇的主导产业为特色轻工（工艺美术）。" in body and "2030年3月1日" in body


def test_criticism_notice_names_county_town_order_deadline_and_facts():
    number = catalog().get("criticism_notice").number(2026, 3)
    assert number == "阳专镇通〔2026〕3号"
    content = criticism_notice(number=number, county="郊区", town="河底镇", order="《限期整改通知》（ZG-2026-0004）",
                               deadline=date(2026, 10, 30), facts="公共服务平台未按期建成。", issued=date(2026, 11, 27),
                               new_deadline=date(2026, 12, 31))
    paragraphs, _ = text_of(content)
    body = "\n".join(paragraphs)
    assert paragraphs[1] == number and "关于对郊区未按期完成河底镇整改任务的通报批评" in paragraphs
    for words in ("《限期整改通知》（ZG-2026-0004）", "2026年10月30日", "公共服务平台未按期建成。", "予以通报批评",
                  "2026年12月31日"):
        assert words in body
    assert every_run_names_an_east_asian_font(content)
