"""The notice praising the towns at the top of the year's evaluation (表扬通报): its number, title and table of
towns, its furniture (版记), and the 草稿 watermark of a draft."""

from __future__ import annotations

import io
import zipfile
from datetime import date

from docx import Document
from docx.oxml.ns import qn

from workflow.core.documents import catalog
from workflow.evaluation.documents import praise_fields, praise_notice

ISSUED = date(2026, 3, 20)
ROWS = [{"rank": 1, "county": "盂县", "town": "梁家寨乡", "total": "92.50"},
        {"rank": 2, "county": "平定县", "town": "冠山镇", "total": "88.00"},
        {"rank": 2, "county": "郊区", "town": "河底镇", "total": "88.00"},
        {"rank": 4, "county": "矿区", "town": "沙坪乡", "total": "81.25"}]


def headers(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return "".join(package.read(n).decode("utf-8") for n in package.namelist() if n.startswith("word/header"))


def test_the_praise_notice_is_numbered_in_its_own_series():
    spec = catalog().get("praise_notice")
    assert (spec.counter, spec.series) == ("praise", "阳专镇表〔{year}〕{n}号")
    assert spec.number(2026, 1) == "阳专镇表〔2026〕1号"
    assert spec.number(2026, None) == "阳专镇表〔2026〕　　号"
    assert spec.label.zh == "表扬通报" and spec.label.en == "Praise notice"


def test_the_praise_notice_names_every_town_with_its_rank_county_and_total():
    number = catalog().get("praise_notice").number(2026, 2)
    content = praise_notice(number=number, year=2025, rows=ROWS, issued=ISSUED)
    doc = Document(io.BytesIO(content))
    paragraphs = [p.text for p in doc.paragraphs]
    body = "\n".join(paragraphs)
    assert paragraphs[1] == "阳专镇表〔2026〕2号"
    assert paragraphs[2] == "关于表扬2025年度专业镇建设成效突出乡镇的通报"
    assert "六（五）" in body and "2025年度专业镇考核评价" in body and "以下4个乡镇" in body
    assert "特此通报。" in body and "2026年3月20日" in body
    table = [[cell.text for cell in row.cells] for row in doc.tables[0].rows]
    assert table == [["名次", "县（区）", "乡镇", "总分"],
                     ["1", "盂县", "梁家寨乡", "92.50"], ["2", "平定县", "冠山镇", "88.00"],
                     ["2", "郊区", "河底镇", "88.00"], ["4", "矿区", "沙坪乡", "81.25"]]
    assert doc.paragraphs[-1].text == "抄送：" + catalog().common["cc"]  # the colophon closes it
    runs = [r for t in doc.tables[:1] for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert all(r._element.rPr.rFonts.get(qn("w:eastAsia")) in ("黑体", "仿宋_GB2312") for r in runs)


def test_a_draft_praise_notice_is_watermarked_and_the_issued_one_is_not():
    number = catalog().get("praise_notice").number(2026, None)
    draft = praise_notice(number=number, year=2025, rows=ROWS[:1], issued=ISSUED, draft=True)
    issued = praise_notice(number="阳专镇表〔2026〕1号", year=2025, rows=ROWS[:1], issued=ISSUED)
    assert headers(draft).count('string="草稿"') == 2  # odd and even pages
    assert "草稿" not in headers(issued)
    assert Document(io.BytesIO(draft)).paragraphs[1].text == "阳专镇表〔2026〕　　号"


def test_the_fields_are_the_documents_own_and_keep_only_what_a_row_shows():
    fields = praise_fields(number="阳专镇表〔2026〕1号", year=2025, issued=ISSUED,
                           rows=[{**ROWS[0], "groups": {"scale": "25"}, "outcome": "praised"}])
    assert set(fields) == set(catalog().get("praise_notice").fields)
    assert fields["rows"] == [ROWS[0]] and fields["count"] == 1 and fields["issued"] == "2026年3月20日"
