"""The layout every official document (公文) of the system shares, after GB/T 9704: a red issuing-body header,
the document number, a red rule, the title, the salutation, the body in 仿宋 三号, and the issuing body and date
at the bottom right. Every run names its East Asian font (w:eastAsia), or Word falls back to a Western font for
the Chinese text. The documents themselves belong to their processes (designation, towns, supervision).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from sqlmodel import Session, select

from workflow.core.models import Case, Town, Unit
from workflow.core.reference import INDUSTRY_CATEGORIES

ISSUING_BODY = "阳泉市专业镇高质量发展领导小组"
OFFICE = "阳泉市专业镇高质量发展领导小组办公室"
PLAN = "《阳泉市促进专业镇高质量发展实施方案》（阳政办发〔2023〕24号）"
SALUTATION = "各县（区）人民政府，市直各单位："
FANGSONG, HEITI, SONGTI = "仿宋", "黑体", "宋体"
RED = RGBColor(0xFF, 0x00, 0x00)
BODY_PT = 16  # 三号




def cn_date(day: date) -> str:
    """2026年11月27日 (Arabic numerals, as GB/T 9704-2012 has it)."""
    return f"{day.year}年{day.month}月{day.day}日"


def set_font(run: Run, name: str, size: float, *, bold: bool = False, color: RGBColor | None = None) -> Run:
    run.font.name = name
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    return run


def new_document(title: str, now: datetime) -> DocxDocument:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.name = FANGSONG
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)
    normal.font.size = Pt(BODY_PT)
    doc.core_properties.title = title
    doc.core_properties.author = OFFICE
    doc.core_properties.created = now.replace(tzinfo=None)
    return doc


def add_para(doc: DocxDocument, text: str = "", *, font: str = FANGSONG, size: float = BODY_PT, bold: bool = False,
          color: RGBColor | None = None, align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = False,
          before: float = 0, after: float = 0, exact: float | None = 28) -> Paragraph:
    paragraph = doc.add_paragraph()
    fmt = paragraph.paragraph_format
    if align is not None:
        paragraph.alignment = align
    if indent:
        fmt.first_line_indent = Pt(size * 2)  # two characters
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if exact:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(exact)
    if text:
        set_font(paragraph.add_run(text), font, size, bold=bold, color=color)
    return paragraph


# What may follow w:pBdr inside w:pPr (ECMA-376 order); Word rejects elements out of order.
PBDR_SUCCESSORS = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)


def red_rule(paragraph: Paragraph) -> None:
    """A red line under the paragraph, across the text width."""
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "6"), ("color", "FF0000")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    paragraph._p.get_or_add_pPr().insert_element_before(border, *PBDR_SUCCESSORS)


def table_cell(cell: Any, text: str, *, bold: bool = False, center: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(paragraph.add_run(text), HEITI if bold else FANGSONG, 12)


def to_bytes(doc: DocxDocument) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def red_header(doc: DocxDocument, number: str) -> None:
    add_para(doc, ISSUING_BODY, font=SONGTI, size=26, bold=True, color=RED, align=WD_ALIGN_PARAGRAPH.CENTER,
          before=24, after=24, exact=None)
    red_rule(add_para(doc, number, align=WD_ALIGN_PARAGRAPH.CENTER, after=18))


def title_line(doc: DocxDocument, text: str) -> None:
    add_para(doc, text, font=SONGTI, size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=24, after=18,
          exact=36)


def signature(doc: DocxDocument, day: date, signer: str = ISSUING_BODY) -> None:
    add_para(doc)
    for text in (signer, cn_date(day)):
        paragraph = add_para(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        paragraph.paragraph_format.right_indent = Pt(BODY_PT * 2)


def number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def industry_text(data: dict[str, Any]) -> str:
    """'食品加工（制造业）' from an application's leading industry and category."""
    category = INDUSTRY_CATEGORIES.get(data.get("industry_category") or "", (None,))[0]
    industry = str(data.get("leading_industry") or "").strip()
    if industry and category:
        return f"{industry}（{category}）"
    return industry or category or "未填写"


def case_names(session: Session, case: Case, unit_ids: list[int]) -> tuple[str, str, dict[int, str]]:
    town = session.get(Town, case.town_id) if case.town_id else None
    ids = {case.county_id, *unit_ids}
    names: dict[int, str] = dict(session.exec(  # type: ignore[arg-type]  # SQLModel's select() of two columns is typed as a row of Any
        select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    return (town.name if town else "", names.get(case.county_id, ""), names)
