"""How the shipped templates were first laid out (GB/T 9704-2012). The .docx files, not this script, are what
the system reads: the office edits them in Word or WPS. Run it only to start over from the standard layout:

    .venv/bin/python definitions/templates/build.py

Layout: A4, margins 37/35/28/26 mm; the issuing body's mark in red 小标宋 over a red rule; the number centred
under it; the title in 2号 小标宋; the body in 3号 仿宋_GB2312 with a two-character indent and 28 pt lines; the
signature and date at the right; the colophon (版记: 抄送, 印发机关 and 印发日期 between rules) at the end; page
numbers "— 1 —" in 4号 宋体, odd pages at the right and even pages at the left, one character in from the edge.
A draft carries the watermark 草稿 in the header. Each font names its usual fallback in the font table (w:altName).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

HERE = Path(__file__).resolve().parent
TITLE_FONT, BODY_FONT, HEADING_FONT, NUMBER_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体", "宋体"
FALLBACKS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", HEADING_FONT: "SimHei", NUMBER_FONT: "SimSun"}
RED = RGBColor(0xFF, 0x00, 0x00)
BODY_PT, COLOPHON_PT = 16, 14  # 三号, 四号


def set_font(run: Run, name: str, size: float, *, bold: bool = False, color: RGBColor | None = None) -> Run:
    run.font.name = name
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    return run


def para(container, text: str = "", *, font: str = BODY_FONT, size: float = BODY_PT, bold: bool = False,
         color: RGBColor | None = None, align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = False,
         before: float = 0, after: float = 0, exact: float | None = 28) -> Paragraph:
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    if align is not None:
        paragraph.alignment = align
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if exact:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(exact)
    if text:
        set_font(paragraph.add_run(text), font, size, bold=bold, color=color)
    return paragraph


def tag(container, text: str) -> None:
    """A paragraph that holds only a docxtpl paragraph tag ({%p … %}); it disappears when rendered."""
    para(container, text, exact=None)


# What may follow w:pBdr inside w:pPr (ECMA-376 order); Word rejects elements out of order.
PBDR_SUCCESSORS = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)


def rule(paragraph: Paragraph, *, side: str = "bottom", size: int = 18, color: str = "FF0000",
         more: tuple[tuple[str, int, str], ...] = ()) -> None:
    """Lines along the paragraph's `side` (and any of `more`), across the text width; size in eighths of a point."""
    border = OxmlElement("w:pBdr")
    for where, sz, colour in ((side, size, color), *more):
        line = OxmlElement(f"w:{where}")
        for key, value in (("val", "single"), ("sz", str(sz)), ("space", "1"), ("color", colour)):
            line.set(qn(f"w:{key}"), value)
        border.append(line)
    paragraph._p.get_or_add_pPr().insert_element_before(border, *PBDR_SUCCESSORS)


def new_document(title: str) -> DocxDocument:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28)  # the page number 7 mm under the text block
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    normal.font.size = Pt(BODY_PT)
    doc.core_properties.title = title
    doc.core_properties.author = "{{ office }}"
    doc.settings.odd_and_even_pages_header_footer = True
    page_numbers(doc)
    watermark(doc)
    return doc


def page_numbers(doc: DocxDocument) -> None:
    """"— 1 —" in 4号 宋体: odd pages at the right, even pages at the left, one character in."""
    section = doc.sections[0]
    for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer,
                                                                        WD_ALIGN_PARAGRAPH.LEFT)):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        fmt = paragraph.paragraph_format
        if align == WD_ALIGN_PARAGRAPH.RIGHT:
            fmt.right_indent = Pt(COLOPHON_PT)
        else:
            fmt.left_indent = Pt(COLOPHON_PT)
        set_font(paragraph.add_run("— "), NUMBER_FONT, COLOPHON_PT)
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
            run = set_font(paragraph.add_run(), NUMBER_FONT, COLOPHON_PT)
            if kind:
                char = OxmlElement("w:fldChar")
                char.set(qn("w:fldCharType"), kind)
                run._r.append(char)
            elif text == " PAGE ":
                code = OxmlElement("w:instrText")
                code.set(qn("xml:space"), "preserve")
                code.text = text
                run._r.append(code)
            else:
                run.text = text
        set_font(paragraph.add_run(" —"), NUMBER_FONT, COLOPHON_PT)


WATERMARK = (
    '<w:p xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">'
    '<w:pPr><w:pStyle w:val="Header"/></w:pPr><w:r><w:pict>'
    '<v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" '
    'path="m@7,l@8,m@5,21600l@6,21600e"><v:path textpathok="t" o:connecttype="custom"/>'
    '<v:textpath on="t" fitshape="t"/><o:lock v:ext="edit" text="t" shapetype="t"/></v:shapetype>'
    '<v:shape id="DraftWatermark" o:spid="_x0000_s2049" type="#_x0000_t136" '
    'style="position:absolute;margin-left:0;margin-top:0;width:420pt;height:180pt;rotation:315;'
    'z-index:-251657216;mso-position-horizontal:center;mso-position-horizontal-relative:margin;'
    'mso-position-vertical:center;mso-position-vertical-relative:margin" o:allowincell="f" '
    'fillcolor="#d8d8d8" stroked="f"><v:fill opacity=".5"/>'
    '<v:textpath style="font-family:&quot;宋体&quot;;font-size:1pt" string="草稿"/></v:shape>'
    '</w:pict></w:r></w:p>'
)


def watermark(doc: DocxDocument) -> None:
    """草稿 across every page of a draft ({%p if draft %} in the headers of odd and even pages)."""
    section = doc.sections[0]
    for header in (section.header, section.even_page_header):
        first = header.paragraphs[0]
        set_font(first.add_run("{%p if draft %}"), NUMBER_FONT, 10)
        first._p.addnext(parse_xml(WATERMARK))
        closing = header.add_paragraph()
        set_font(closing.add_run("{%p endif %}"), NUMBER_FONT, 10)


def red_header(doc: DocxDocument, with_number: bool = True) -> None:
    para(doc, "{{ issuing_body }}", font=TITLE_FONT, size=26, color=RED, align=WD_ALIGN_PARAGRAPH.CENTER,
         before=24, after=24, exact=None)
    number = para(doc, "{{ number }}" if with_number else "", align=WD_ALIGN_PARAGRAPH.CENTER, after=18)
    rule(number)


def title_line(doc: DocxDocument) -> None:
    para(doc, "{{ title }}", font=TITLE_FONT, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, before=24, after=18,
         exact=36)


def body(doc: DocxDocument, *texts: str) -> None:
    for text in texts:
        if text.startswith("{%p"):
            tag(doc, text)
        else:
            para(doc, text, indent=True)


def signature(doc: DocxDocument, signer: str = "{{ issuing_body }}", day: str = "{{ issued }}") -> None:
    para(doc)
    for text in (signer, day):
        paragraph = para(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        paragraph.paragraph_format.right_indent = Pt(BODY_PT * 2)


def colophon(doc: DocxDocument) -> None:
    """版记: 抄送 over 印发机关 and 印发日期, between a thick rule above and below and a thin one between."""
    para(doc)
    copies = para(doc, "抄送：{{ cc }}", size=COLOPHON_PT, exact=None, before=6, after=6)
    copies.paragraph_format.left_indent = Pt(COLOPHON_PT)
    copies.paragraph_format.right_indent = Pt(COLOPHON_PT)
    rule(copies, side="top", size=8, color="000000")
    # 印发机关 at the left and 印发日期 at the right: two cells, so a long name wraps in its own cell
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text, align, width in zip(table.rows[0].cells, ("{{ printed_by }}", "{{ printed_date }}印发"),
                                        (WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.RIGHT), (Mm(100), Mm(56)),
                                        strict=True):
        cell.width = width
        paragraph = cell.paragraphs[0]
        paragraph.alignment = align
        fmt = paragraph.paragraph_format
        fmt.left_indent = fmt.right_indent = Pt(COLOPHON_PT / 2)
        fmt.space_before = fmt.space_after = Pt(6)
        set_font(paragraph.add_run(text), BODY_FONT, COLOPHON_PT)
    borders = OxmlElement("w:tblBorders")
    for side, size in (("top", 4), ("left", 0), ("bottom", 8), ("right", 0), ("insideH", 0), ("insideV", 0)):
        line = OxmlElement(f"w:{side}")
        for key, value in (("val", "single" if size else "nil"), ("sz", str(size)), ("space", "0"),
                           ("color", "000000")):
            line.set(qn(f"w:{key}"), value)
        borders.append(line)
    table._tbl.tblPr.append(borders)


def save(doc: DocxDocument, name: str) -> None:
    """Write the template, naming each font's fallback in the font table."""
    out = io.BytesIO()
    doc.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    with zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/fontTable.xml":
                fonts = "".join(f'<w:font w:name="{font}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
                                f'<w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>'
                                for font, alt in FALLBACKS.items())
                data = re.sub(rb"</w:fonts>", fonts.encode() + b"</w:fonts>", data)
            target.writestr(item, data)


def designation_notice() -> None:
    doc = new_document("{{ title }}")
    red_header(doc)
    title_line(doc)
    para(doc, "{{ salutation }}")
    body(doc,
         "根据{{ plan }}，经{{ county }}申报，{{ issuing_body }}办公室形式审查、成员单位会审、专家评审，"
         "领导小组审定并经公示无异议，现认定{{ county }}{{ town }}为市级专业镇。",
         "{{ town }}的主导产业为{{ industry }}{% if output %}，上年主导产业产值{{ output }}亿元{% endif %}。"
         "认定日期为{{ designated }}。市级专业镇实行滚动认定，复核日期为{{ review }}，届时按认定标准进行复核。",
         "希望{{ county }}和{{ town }}以此次认定为契机，聚焦主导产业，壮大龙头企业，完善公共服务平台，"
         "加强品牌和标准建设，持续提升专业镇的竞争力和影响力。各成员单位要按照职责分工加强指导和支持。",
         "特此通知。")
    signature(doc)
    colophon(doc)
    save(doc, "designation_notice.docx")


def criticism_notice() -> None:
    doc = new_document("{{ title }}")
    red_header(doc)
    title_line(doc)
    para(doc, "{{ salutation }}")
    body(doc,
         "根据{{ plan }}关于专业镇督办考核的要求，{{ issuing_body }}办公室向{{ county }}下达了{{ order }}，"
         "要求{{ county }}于{{ deadline }}前完成{{ town }}的整改。截至期限，{{ county }}未按期完成整改。",
         "主要问题：{{ facts }}",
         "经领导小组同意，现对{{ county }}予以通报批评。请{{ county }}人民政府高度重视，认真分析原因，"
         "落实整改责任，{% if new_deadline %}于{{ new_deadline }}前{% else %}限期{% endif %}完成整改，"
         "并将整改情况书面报送领导小组办公室。",
         "各县（区）要引以为戒，切实抓好专业镇建设各项工作任务的落实。")
    signature(doc)
    colophon(doc)
    save(doc, "criticism_notice.docx")


def rectification_notice() -> None:
    doc = new_document("{{ title }}")
    red_header(doc)
    title_line(doc)
    para(doc, "{{ addressee }}")
    body(doc,
         "根据{{ plan }}关于专业镇动态管理和督导检查的要求，{{ issuing_body }}办公室在{{ source }}中发现，"
         "{{ county }}{{ town }}专业镇建设存在以下问题：",
         "{{ problems }}",
         "请你县（区）高度重视，制定整改方案，明确责任单位和责任人，于{{ deadline }}前完成整改，"
         "并在系统中提交整改报告（案件编号：{{ case_number }}）。确有困难需要延期的，"
         "应在期限届满前提出申请，说明理由，延期以一次为限。",
         "逾期未完成整改的，领导小组将予以通报批评；同一认定周期内两次被通报批评的，将启动撤销认定程序。",
         "特此通知。")
    signature(doc, signer="{{ office }}")
    colophon(doc)
    save(doc, "rectification_notice.docx")


def publicity_announcement() -> None:
    doc = new_document("{{ title }}")
    para(doc, "{{ office }}", font=TITLE_FONT, size=26, color=RED, align=WD_ALIGN_PARAGRAPH.CENTER,
         before=24, after=24, exact=None)
    rule(para(doc, after=18))
    title_line(doc)
    body(doc,
         "根据{{ plan }}，经{{ county }}申报，领导小组办公室形式审查、成员单位会审、专家评审和领导小组审定，"
         "拟认定{{ county }}{{ town }}（主导产业：{{ industry }}）为市级专业镇。现予以公示。",
         "公示期为{{ start }}至{{ end }}（{{ working_days }}个工作日）。公示期间，任何单位和个人对拟认定对象有异议的，"
         "请以书面形式实名向{{ objection_contact }}反映，并提供必要的证明材料。以单位名义反映的须加盖公章，"
         "以个人名义反映的须签署真实姓名并注明联系方式。逾期不予受理。",
         "案件编号：{{ case_number }}")
    signature(doc, signer="{{ office }}")
    save(doc, "publicity_announcement.docx")


def opinion_sheet() -> None:
    doc = new_document("{{ title }}")
    para(doc, "{{ title }}", font=HEADING_FONT, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, after=12, exact=None)
    para(doc, "市级专业镇认定申请 · 成员单位会审", size=14, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    for label, field in (("案件编号", "case_number"), ("专业镇", "town"), ("所属县（区）", "county"),
                         ("申报概要", "summary"), ("会审期限", "due_date"), ("征求意见单位", "tally")):
        if field == "due_date":
            tag(doc, "{%p if due_date %}")
        paragraph = para(doc, exact=24)
        set_font(paragraph.add_run(f"{label}："), HEADING_FONT, 14)
        set_font(paragraph.add_run(f"{{{{ {field} }}}}"), BODY_FONT, 14)
        if field == "due_date":
            tag(doc, "{%p endif %}")
    table = doc.add_table(rows=4, cols=6)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(12), Mm(34), Mm(24), Mm(46), Mm(18), Mm(22))
    rows = (("序号", "成员单位", "意见", "理由", "经办人", "日期"),
            ("{%tr for row in rows %}", "", "", "", "", ""),
            ("{{ loop.index }}", "{{ row.unit }}", "{{ row.answer }}", "{{ row.reason }}", "{{ row.by }}",
             "{{ row.date }}"),
            ("{%tr endfor %}", "", "", "", "", ""))
    for r, values in enumerate(rows):
        for c, (cell, text, width) in enumerate(zip(table.rows[r].cells, values, widths, strict=True)):
            cell.width = width
            paragraph = cell.paragraphs[0]
            if r == 0 or c in (0, 2, 5):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if text:
                set_font(paragraph.add_run(text), HEADING_FONT if r == 0 else BODY_FONT, 12)
    para(doc, "汇总时间：{{ made_at }}　　汇总单位：{{ office }}", size=12, align=WD_ALIGN_PARAGRAPH.RIGHT,
         before=12, exact=None)
    save(doc, "opinion_sheet.docx")


def praise_notice() -> None:
    doc = new_document("{{ title }}")
    red_header(doc)
    title_line(doc)
    para(doc, "{{ salutation }}")
    body(doc,
         "根据{{ plan }}六（五）“加强考核激励”的要求，{{ issuing_body }}组织开展了{{ year }}年度专业镇考核评价。"
         "经县（区）自评、成员单位评分、领导小组办公室汇总排名并报领导小组审定，"
         "以下{{ count }}个乡镇专业镇建设成效突出，在年度考核评价中位居前列，现予以通报表扬。")
    table = doc.add_table(rows=4, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(20), Mm(46), Mm(56), Mm(32))
    rows = (("名次", "县（区）", "乡镇", "总分"),
            ("{%tr for row in rows %}", "", "", ""),
            ("{{ row.rank }}", "{{ row.county }}", "{{ row.town }}", "{{ row.total }}"),
            ("{%tr endfor %}", "", "", ""))
    for r, values in enumerate(rows):
        for cell, text, width in zip(table.rows[r].cells, values, widths, strict=True):
            cell.width = width
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            fmt = paragraph.paragraph_format
            fmt.space_before = fmt.space_after = Pt(3)
            if text:
                set_font(paragraph.add_run(text), HEADING_FONT if r == 0 else BODY_FONT, COLOPHON_PT)
    para(doc, before=6)
    body(doc,
         "希望受到表扬的乡镇珍惜荣誉、再接再厉，聚焦主导产业，壮大龙头企业，完善公共服务平台，"
         "在专业镇高质量发展中发挥示范引领作用。各县（区）要学习借鉴先进经验，对标找差、补齐短板，"
         "推动全市专业镇建设再上新台阶。",
         "特此通报。")
    signature(doc)
    colophon(doc)
    save(doc, "praise_notice.docx")


def recommendation_letter() -> None:
    doc = new_document("{{ title }}")
    red_header(doc)
    title_line(doc)
    para(doc, "{{ addressee }}")
    body(doc,
         "根据{{ plan }}和省级专业镇认定工作的有关要求，"
         "经{{ county }}申报、{{ issuing_body }}办公室审核和领导小组审定，"
         "现推荐{{ county }}{{ town }}（主导产业：{{ industry }}）申报省级专业镇。",
         "该镇于{{ designated }}被认定为市级专业镇（{{ designation_number }}）。{{ statistics }}{{ evaluation }}",
         "随函附送该镇市级专业镇认定申请材料、认定通知、年度统计数据和年度评价结果，请予审核认定。",
         "推荐批次：{{ round }}。")
    signature(doc)
    colophon(doc)
    save(doc, "recommendation_letter.docx")


if __name__ == "__main__":
    for build in (designation_notice, criticism_notice, rectification_notice, publicity_announcement,
                  opinion_sheet, praise_notice, recommendation_letter):
        build()
