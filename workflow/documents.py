"""Documents the system writes as .docx: the joint review's opinion sheet and the leading group's notices.

The notices follow the layout of Chinese official documents (GB/T 9704): a red issuing-body header, the
document number, a red rule, the title, the salutation, the body in 仿宋 三号, and the issuing body and
date at the bottom right. Every run names its East Asian font (w:eastAsia), or Word falls back to a
Western font for the Chinese text.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from sqlmodel import Session, select

from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.attachments import DOCX, store_bytes
from workflow.core.calendar import local_date, to_local
from workflow.core.errors import NotFound
from workflow.core.models import Attachment, Case, Town, Unit
from workflow.towns.services import INDUSTRY_CATEGORIES

ISSUING_BODY = "阳泉市专业镇高质量发展领导小组"
OFFICE = "阳泉市专业镇高质量发展领导小组办公室"
PLAN = "《阳泉市促进专业镇高质量发展实施方案》（阳政办发〔2023〕24号）"
SALUTATION = "各县（区）人民政府，市直各单位："
FANGSONG, HEITI, SONGTI = "仿宋", "黑体", "宋体"
RED = RGBColor(0xFF, 0x00, 0x00)
BODY_PT = 16  # 三号
ANSWERS = {"agree": "同意", "disagree": "不同意", "no_objection_deemed": "逾期视为无意见"}
PENDING = "尚未答复"


def cn_date(day: date) -> str:
    """2026年11月27日 (Arabic numerals, as GB/T 9704-2012 has it)."""
    return f"{day.year}年{day.month}月{day.day}日"


def criticism_number(year: int, n: int) -> str:
    """The number of a criticism notice: 阳专镇通〔YYYY〕N号."""
    return f"阳专镇通〔{year}〕{n}号"


# --- building blocks -----------------------------------------------------------------------------------------


def _font(run: Run, name: str, size: float, *, bold: bool = False, color: RGBColor | None = None) -> Run:
    run.font.name = name
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    return run


def _document(title: str, now: datetime) -> DocxDocument:
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


def _para(doc: DocxDocument, text: str = "", *, font: str = FANGSONG, size: float = BODY_PT, bold: bool = False,
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
        _font(paragraph.add_run(text), font, size, bold=bold, color=color)
    return paragraph


def _red_rule(paragraph: Paragraph) -> None:
    """A red line under the paragraph, across the text width."""
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "6"), ("color", "FF0000")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    paragraph._p.get_or_add_pPr().insert_element_before(border, *PBDR_SUCCESSORS)


# What may follow w:pBdr inside w:pPr (ECMA-376 order); Word rejects elements out of order.
PBDR_SUCCESSORS = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)


def _cell(cell: Any, text: str, *, bold: bool = False, center: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run(text), HEITI if bold else FANGSONG, 12)


def _bytes(doc: DocxDocument) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _red_header(doc: DocxDocument, number: str) -> None:
    _para(doc, ISSUING_BODY, font=SONGTI, size=26, bold=True, color=RED, align=WD_ALIGN_PARAGRAPH.CENTER,
          before=24, after=24, exact=None)
    _red_rule(_para(doc, number, align=WD_ALIGN_PARAGRAPH.CENTER, after=18))


def _title(doc: DocxDocument, text: str) -> None:
    _para(doc, text, font=SONGTI, size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=24, after=18,
          exact=36)


def _signature(doc: DocxDocument, day: date, signer: str = ISSUING_BODY) -> None:
    _para(doc)
    for text in (signer, cn_date(day)):
        paragraph = _para(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        paragraph.paragraph_format.right_indent = Pt(BODY_PT * 2)


# --- the documents -------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def industry_text(data: dict[str, Any]) -> str:
    """'食品加工（制造业）' from an application's leading industry and category."""
    category = INDUSTRY_CATEGORIES.get(data.get("industry_category") or "", (None,))[0]
    industry = str(data.get("leading_industry") or "").strip()
    if industry and category:
        return f"{industry}（{category}）"
    return industry or category or "未填写"


def application_summary(data: dict[str, Any]) -> str:
    """One line about the application: category, leading industry, products, output."""
    parts = [f"产业类别：{INDUSTRY_CATEGORIES.get(data.get('industry_category') or '', ('未填写',))[0]}",
             f"主导产业：{data.get('leading_industry') or '未填写'}"]
    if data.get("main_products"):
        products = data["main_products"]
        parts.append(f"主要产品：{'、'.join(map(str, products)) if isinstance(products, list) else products}")
    output = _number(data.get("output_yi"))
    if output is not None:
        parts.append(f"上年主导产业产值：{output:.2f} 亿元")
    return "；".join(parts)


def opinion_rows(data: dict[str, Any], unit_names: dict[int, str]) -> list[dict[str, str]]:
    """Every consulted unit with its answer, reasons, person and local date; units not asked come last."""
    opinions: dict[str, dict[str, Any]] = data.get("opinions") or {}
    order = [str(u) for u in data.get("consulted_units") or []]
    order += [u for u in opinions if u not in order]
    rows = []
    for key in order:
        opinion = opinions.get(key) or {}
        name = opinion.get("unit") or (unit_names.get(int(key)) if key.isdigit() else None)
        answered = opinion.get("at")
        rows.append({
            "unit": str(name or f"#{key}"),
            "answer": ANSWERS.get(opinion.get("answer") or "", PENDING),
            "reason": str(opinion.get("reason") or ""),
            "by": str(opinion.get("by") or ""),
            "date": local_date(datetime.fromisoformat(answered)).isoformat() if answered else "",
        })
    return rows


def opinion_sheet(*, case: Case, town: str, county: str, unit_names: dict[int, str], now: datetime,
                  data: dict[str, Any] | None = None) -> bytes:
    """The consolidated opinion sheet of the joint review (会审意见汇总表) as .docx bytes."""
    data = case.data if data is None else data
    doc = _document("会审意见汇总表", now)
    _para(doc, "会审意见汇总表", font=HEITI, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, after=12, exact=None)
    _para(doc, "市级专业镇认定申请 · 成员单位会审", size=14, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    rows = opinion_rows(data, unit_names)
    counts = {label: sum(1 for r in rows if r["answer"] == label) for label in (*ANSWERS.values(), PENDING)}
    tally = "，".join(f"{label} {n} 个" for label, n in counts.items() if n or label != PENDING)
    lines = [("案件编号", case.number), ("专业镇", town), ("所属县（区）", county),
             ("申报概要", application_summary(data))]
    if data.get("opinion_due_date"):
        lines.append(("会审期限", str(data["opinion_due_date"])))
    lines.append(("征求意见单位", f"共 {len(rows)} 个：{tally}"))
    for label, value in lines:
        paragraph = _para(doc, exact=24)
        _font(paragraph.add_run(f"{label}："), HEITI, 14)
        _font(paragraph.add_run(value), FANGSONG, 14)

    table = doc.add_table(rows=1, cols=6)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(12), Mm(34), Mm(24), Mm(46), Mm(18), Mm(22))
    for cell, text, width in zip(table.rows[0].cells, ("序号", "成员单位", "意见", "理由", "经办人", "日期"), widths,
                                 strict=True):
        cell.width = width
        _cell(cell, text, bold=True, center=True)
    for i, row in enumerate(rows, 1):
        cells = table.add_row().cells
        values = (str(i), row["unit"], row["answer"], row["reason"], row["by"], row["date"])
        for j, (cell, text, width) in enumerate(zip(cells, values, widths, strict=True)):
            cell.width = width
            _cell(cell, text, center=j in (0, 2, 5))
    _para(doc, f"汇总时间：{to_local(now).strftime('%Y-%m-%d %H:%M')}　　汇总单位：{OFFICE}", size=12,
          align=WD_ALIGN_PARAGRAPH.RIGHT, before=12, exact=None)
    return _bytes(doc)


def designation_notice(*, number: str, town: str, county: str, industry: str, designated: date, review: date,
                       output_yi: float | None = None) -> bytes:
    """The notice designating a municipal-level professional town (认定通知), official layout."""
    now = datetime.combine(designated, datetime.min.time())
    title = f"关于认定{county}{town}为市级专业镇的通知"
    doc = _document(title, now)
    _red_header(doc, number)
    _title(doc, title)
    _para(doc, SALUTATION)
    output = f"，上年主导产业产值{output_yi:.2f}亿元" if output_yi is not None else ""
    for text in (
        f"根据{PLAN}，经{county}申报，{ISSUING_BODY}办公室形式审查、成员单位会审、专家评审，"
        f"领导小组审定并经公示无异议，现认定{county}{town}为市级专业镇。",
        f"{town}的主导产业为{industry}{output}。认定日期为{cn_date(designated)}。"
        f"市级专业镇实行滚动认定，复核日期为{cn_date(review)}，届时按认定标准进行复核。",
        f"希望{county}和{town}以此次认定为契机，聚焦主导产业，壮大龙头企业，完善公共服务平台，"
        "加强品牌和标准建设，持续提升专业镇的竞争力和影响力。各成员单位要按照职责分工加强指导和支持。",
        "特此通知。",
    ):
        _para(doc, text, indent=True)
    _signature(doc, designated)
    return _bytes(doc)


def criticism_notice(*, number: str, county: str, town: str, order: str, deadline: date, facts: str,
                     issued: date, new_deadline: date | None = None) -> bytes:
    """A notice publicly criticising a county that missed a rectification deadline (通报批评)."""
    now = datetime.combine(issued, datetime.min.time())
    title = f"关于对{county}未按期完成{town}整改任务的通报批评"
    doc = _document(title, now)
    _red_header(doc, number)
    _title(doc, title)
    _para(doc, SALUTATION)
    report = f"于{cn_date(new_deadline)}前" if new_deadline else "限期"
    for text in (
        f"根据{PLAN}关于专业镇督办考核的要求，{ISSUING_BODY}办公室向{county}下达了{order}，"
        f"要求{county}于{cn_date(deadline)}前完成{town}的整改。截至期限，{county}未按期完成整改。",
        f"主要问题：{facts}",
        f"经领导小组同意，现对{county}予以通报批评。请{county}人民政府高度重视，认真分析原因，"
        f"落实整改责任，{report}完成整改，并将整改情况书面报送领导小组办公室。",
        "各县（区）要引以为戒，切实抓好专业镇建设各项工作任务的落实。",
    ):
        _para(doc, text, indent=True)
    _signature(doc, issued)
    return _bytes(doc)


# --- services ------------------------------------------------------------------------------------------------


def _names(session: Session, case: Case, unit_ids: list[int]) -> tuple[str, str, dict[int, str]]:
    town = session.get(Town, case.town_id) if case.town_id else None
    ids = {case.county_id, *unit_ids}
    names: dict[int, str] = dict(session.exec(  # type: ignore[arg-type]
        select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())  # type: ignore[union-attr]
    return (town.name if town else "", names.get(case.county_id, ""), names)


def opinion_sheet_for(*, session: Session, actor: Actor, case_id: int, now: datetime) -> tuple[str, bytes]:
    """The opinion sheet of a case `actor` may see, made now: (file name, .docx bytes)."""
    case = get_case(session, actor, case_id)
    if case.definition_key != "designation" or "consulted_units" not in case.data:
        raise NotFound("该案件没有会审意见。", "This case has no joint review opinions.")
    town, county, names = _names(session, case, list(case.data["consulted_units"]))
    return (f"会审意见汇总表-{case.number}.docx",
            opinion_sheet(case=case, town=town, county=county, unit_names=names, now=now))


def attach_opinion_sheet(session: Session, case: Case, now: datetime, *,
                         data: dict[str, Any] | None = None) -> Attachment:
    """Make the opinion sheet and keep it on the case (kind opinion_sheet); `data` is the case's new data."""
    data = case.data if data is None else data
    town, county, names = _names(session, case, list(data.get("consulted_units") or []))
    content = opinion_sheet(case=case, town=town, county=county, unit_names=names, now=now, data=data)
    return store_bytes(session=session, actor=Actor.system(), data=content, content_type=DOCX, kind="opinion_sheet",
                       filename=f"会审意见汇总表-{case.number}.docx", now=now, case_id=case.id)


def attach_designation_notice(session: Session, case: Case, now: datetime, *,
                              data: dict[str, Any] | None = None) -> Attachment:
    """Make the designation notice and keep it on the designation case and its town (kind designation_notice)."""
    data = case.data if data is None else data
    town, county, _ = _names(session, case, [])
    content = designation_notice(
        number=data["designation_number"], town=town, county=county, industry=industry_text(data),
        designated=date.fromisoformat(data["designated_date"]), review=date.fromisoformat(data["review_date"]),
        output_yi=_number(data.get("output_yi")))
    return store_bytes(session=session, actor=Actor.system(), data=content,
                       filename=f"认定通知-{data['designation_number']}.docx", content_type=DOCX,
                       kind="designation_notice", now=now, case_id=case.id, town_id=case.town_id)
