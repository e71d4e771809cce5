"""The statistics in Excel (issue 15 §2): the county downloads the year's workbook of its towns (one row per
report, the labels and units as headers, each number validated in the sheet, what is saved already in it), fills
it and uploads it. Every row and cell is checked as on the form, every problem named by row and column in Chinese,
and nothing is written unless the whole file is right; a file that is not a workbook, the wrong sheet or headers,
formulas, merged cells or a file over 10 MB are each refused with their own message."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime

import pytest
import time_machine
from openpyxl import Workbook, load_workbook
from sqlmodel import select
from statements import counted, listing, shape

from conftest import api_headers, csrf_token, login
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import AuditEvent, Case
from workflow.statistics import excel
from workflow.statistics.campaign import open_reports
from workflow.statistics.fields import STATISTICS_PATH, parse_statistics

NOW = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)  # Tuesday 12 January 2027, 10:00 in Yangquan
ROW = {"主导产业产值（亿元）": 12.5, "税收（万元）": 3200, "市场主体数（户）": 860, "规上工业企业数（家）": 14,
       "从业人员（人）": 5200, "高新技术企业（家）": 3, "专精特新企业（家）": 2, "有效发明专利（件）": 11,
       "地理标志（个）": 1, "公共服务平台（个）": 2, "重点项目数（个）": 4, "重点项目总投资（亿元）": 6.8,
       "品牌（品牌名称|级别）": "盂县石材|省级;娘子关|市级",
       "标准（标准名称|类别|参与方式）": "建筑用石材加工规范|团体标准|主导制定"}
FIGURES = {"output_yi": "12.5", "tax_wan": "3200", "market_entities": "860", "above_scale_firms": "14",
           "employees": "5200", "high_tech_firms": "3", "specialised_firms": "2", "invention_patents": "11",
           "geographical_indications": "1", "service_platforms": "2", "key_projects": "4",
           "project_investment_yi": "6.8"}


@pytest.fixture
def world(make, db):
    office = make.actor(make.user("office"))
    county = make.actor(make.user("county", county="盂县"))
    other = make.actor(make.user("county", county="平定县"))
    towns = [make.town("西烟镇", county="盂县"), make.town("路家村镇", county="盂县"),
             make.town("娘子关镇", county="平定县")]
    with transaction(db) as s:
        reports = open_reports(session=s, actor=office, now=NOW, year=2026)
    return {"office": office, "county": county, "other": other, "towns": towns, "reports": reports}


def own(world):
    return [r for r in world["reports"] if r.town_id in (world["towns"][0].id, world["towns"][1].id)]


def template(db, actor, year=2026):
    with transaction(db) as s:
        return load_workbook(io.BytesIO(excel.template(s, actor, year)))


def headers(sheet):
    return [c.value for c in sheet[1]]


def fill(book, rows: dict[int, dict[str, object]]):
    """Write values by header into the given sheet rows; the workbook as bytes."""
    sheet = book[excel.SHEET]
    where = {h: i for i, h in enumerate(headers(sheet), start=1)}
    for row, values in rows.items():
        for header, value in values.items():
            sheet.cell(row=row, column=where[header], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def imported(db, actor, data, *, submit=False, year=2026):
    with transaction(db) as s:
        return excel.import_workbook(s, actor, year, io.BytesIO(data), submit=submit, now=NOW)


def refused(db, actor, data, *, submit=False, year=2026, error=Unprocessable):
    with pytest.raises(error) as caught:
        imported(db, actor, data, submit=submit, year=year)
    return caught.value


def accepted_last_year(db, world, town, year=2025, output="12.5", explained=""):
    """The town's report of `year` with FIGURES (the output given, its change explained when so said), submitted and
    accepted: what a large change is measured against."""
    with transaction(db) as s:
        open_reports(session=s, actor=world["office"], now=NOW, year=year)  # none when the year is open already
    with transaction(db) as s:
        (earlier,) = [c for c in s.exec(select(Case).where(Case.definition_key == "statistics_report",
                                                           Case.town_id == town.id))
                      if c.data["report_year"] == year]
    with transaction(db) as s:
        fire(session=s, case_id=earlier.id, trigger="submit_figures", actor=world["county"], now=NOW,
             payload={"figures": {**FIGURES, "output_yi": output},
                      "explanations": {"output_yi": explained} if explained else {}})
    with transaction(db) as s:
        fire(session=s, case_id=earlier.id, trigger="accept_figures", actor=world["office"], now=NOW)


def states(db, ids):
    with transaction(db) as s:
        return {c.id: (c.state, c.version, (c.data.get("figures") or {}).get("output_yi"))
                for c in s.exec(select(Case).where(Case.id.in_(ids)))}


def test_the_template_has_one_row_per_town_the_labels_and_units_and_validation(db, world):
    book = template(db, world["county"])
    assert book.sheetnames == ["统计数据", "说明"]
    sheet = book["统计数据"]
    assert headers(sheet) == ["报表编号", "专业镇", *ROW, "情况说明"]
    assert [(r[0].value, r[1].value) for r in sheet.iter_rows(min_row=2)] == sorted(
        [(c.number, c.title.split(" · ")[1]) for c in own(world)], key=lambda x: x[1])
    rules = {str(v.sqref): (v.type, v.formula1, v.formula2) for v in sheet.data_validations.dataValidation}
    assert rules["C2:C3"] == ("decimal", "0", "10000")  # 主导产业产值
    assert rules["E2:E3"] == ("whole", "0", "1000000")  # 市场主体数
    assert len(rules) == 12  # every number column, none on the text columns
    assert sheet.protection.sheet and sheet["A2"].protection.locked and not sheet["C2"].protection.locked
    notes = [r[1].value for r in book["说明"].iter_rows() if r[0].value == "C"]
    assert notes == ["主导产业产值（亿元）"]
    keys = {r[0].value: r[2].value for r in book["说明"].iter_rows() if r[0].value in ("A", "B", "C", "Q")}
    assert keys == {"A": "number", "B": "town", "C": "output_yi", "Q": "explanation"}  # each column's key


def test_the_template_s_headers_and_columns_are_laid_out_for_the_clerk(db, world):
    sheet = template(db, world["county"])["统计数据"]
    first = sheet[1]
    assert all(c.font.b and c.alignment.wrap_text and c.alignment.vertical == "center" for c in first)
    assert [(c.fill.fill_type, c.fill.fgColor.rgb) for c in first[:3]] == [
        ("solid", "00DDDDDD"), ("solid", "00DDDDDD"), (None, "00000000")]  # what the clerk may not change is grey
    assert {k: d.width for k, d in sheet.column_dimensions.items()} == {
        "A": 14, "B": 14, **dict.fromkeys("CDEFGHIJKLMN", 16), "O": 36, "P": 36, "Q": 36}
    assert sheet.row_dimensions[1].height == 45 and sheet.freeze_panes == "C2"
    assert {c.column_letter: (c.comment.text, c.comment.author) for c in first if c.comment} == {
        "O": ("每项写作“品牌名称|级别”，多项以“;”分隔；选项填中文名称。", "zyz"),
        "P": ("每项写作“标准名称|类别|参与方式”，多项以“;”分隔；选项填中文名称。", "zyz"),
        "Q": ("与上年相比变化超过 30% 的数据须说明原因，此处的说明适用于本行每一项这样的数据。", "zyz")}
    assert (sheet["C2"].number_format, sheet["E2"].number_format) == ("0.00", "General")  # decimals shown as such


def test_the_template_lists_the_county_s_statistics_reports_only_by_town_name(db, world, make):
    with transaction(db) as s:
        open_reports(session=s, actor=world["office"], now=NOW, year=2025)
    make.town("东梁镇", county="盂县")  # a town that reports from later on, named first
    with transaction(db) as s:
        (late,) = open_reports(session=s, actor=world["office"], now=NOW, year=2025)  # its report, opened last
    returned = make.case("designation", state="returned", county="盂县")  # the county's, waiting for it too
    rows = [(r[0].value, r[1].value) for r in template(db, world["county"], year=2025)["统计数据"].iter_rows(min_row=2)]
    assert [town for _, town in rows] == ["东梁镇", "西烟镇", "路家村镇"] and rows[0][0] == late.number
    assert returned.number not in [number for number, _ in rows]


def test_the_notes_sheet_tells_the_clerk_the_rules_and_every_column(db, world):
    notes = template(db, world["county"])["说明"]
    rows = [tuple(v for v in r if v is not None) for r in notes.iter_rows(values_only=True)]
    assert rows[:9] == [
        ("2026 年度专业镇统计数据导入模板（专业镇年度统计报表，第 1 版）",),
        ("1. 请在工作表“统计数据”中填写，每行一个专业镇；不要修改表头、报表编号和专业镇，不要合并单元格，"
         "不要使用公式（请填写数值）。",),
        ("2. 上传后系统逐行逐项检查；有任何错误时整份文件都不导入，并按行、列列出问题；全部正确时一次写入。",),
        ("3. 每行的内容替换该报表已保存的数据：留空的单元格即清空该项。选择“报送”时，必填项须全部填写。",),
        ("4. 品牌、标准：每项写作“名称|级别”或“名称|类别|参与方式”，多项以“;”分隔，选项填中文名称"
         "（如：盂县石材|省级;娘子关|市级）。",),
        ("5. 情况说明：与上年已审核数据相比变化超过 30% 的数据须说明原因后才能报送；"
         "本列的说明适用于该行每一项这样的数据。",),
        ("6. 文件不超过 10 MB。",),
        (),
        ("列", "表头", "字段", "类型", "单位", "最小值", "最大值", "必填", "规划条款")]
    decimal, whole = "数字（最多 2 位小数）", "整数"
    assert rows[9:] == [  # one row per column, in order: its header, key, type, unit, range, required, clause
        ("A", "报表编号", "number", "文本"),
        ("B", "专业镇", "town", "文本"),
        ("C", "主导产业产值（亿元）", "output_yi", decimal, "亿元", "0", "10000", "是", "二、五(二)"),
        ("D", "税收（万元）", "tax_wan", decimal, "万元", "0", "10000000", "是", "五(五)"),
        ("E", "市场主体数（户）", "market_entities", whole, "户", "0", "1000000", "是", "五(一)"),
        ("F", "规上工业企业数（家）", "above_scale_firms", whole, "家", "0", "10000", "是", "五(一)"),
        ("G", "从业人员（人）", "employees", whole, "人", "0", "1000000", "是", "五(五)"),
        ("H", "高新技术企业（家）", "high_tech_firms", whole, "家", "0", "10000", "是", "五(三)"),
        ("I", "专精特新企业（家）", "specialised_firms", whole, "家", "0", "10000", "是", "五(三)"),
        ("J", "有效发明专利（件）", "invention_patents", whole, "件", "0", "100000", "是", "五(三)"),
        ("K", "地理标志（个）", "geographical_indications", whole, "个", "0", "100", "是", "五(六)"),
        ("L", "公共服务平台（个）", "service_platforms", whole, "个", "0", "1000", "是", "五(十)"),
        ("M", "重点项目数（个）", "key_projects", whole, "个", "0", "1000", "是", "五(四)"),
        ("N", "重点项目总投资（亿元）", "project_investment_yi", decimal, "亿元", "0", "100000", "是", "五(四)"),
        ("O", "品牌（品牌名称|级别）", "brands", "列表（文本）", "二、五(六)"),
        ("P", "标准（标准名称|类别|参与方式）", "standards", "列表（文本）", "二、五(六)"),
        ("Q", "情况说明", "explanation", "文本")]
    # the title and the table's header stand out; the columns are wide enough to read
    assert (notes["A1"].font.b, notes["A1"].font.sz) == (True, 13)
    assert [c.font.b for c in notes[9]] == [True] * 9 and not notes["A10"].font.b
    assert {k: d.width for k, d in notes.column_dimensions.items()} == {"A": 6, "B": 34, **dict.fromkeys("CDEFGHI", 14)}


def city_statistics(shipped: str, own: str):
    """The statistics spec of a city whose definitions/statistics.yaml says `own` where the shipped file says
    `shipped` (the first place only)."""
    text = STATISTICS_PATH.read_text(encoding="utf-8")
    changed = text.replace(shipped, own, 1)
    assert changed != text
    return parse_statistics(changed, "statistics.yaml")


def test_the_notes_sheet_marks_a_figure_the_statistics_file_makes_optional():
    """A city may make a figure optional in its own definitions/statistics.yaml: the notes say 否 for it."""
    # 税收, the first figure of clause 五(五)
    spec = city_statistics("    required: true\n    clause: 五(五)", "    required: false\n    clause: 五(五)")
    sheet = Workbook().active
    excel._notes(sheet, spec, excel.columns(spec), 2027)
    rows = {r[0]: r for r in sheet.iter_rows(min_row=10, values_only=True)}
    assert rows["D"] == ("D", "税收（万元）", "tax_wan", "数字（最多 2 位小数）", "万元", "0", "10000000", "否",
                         "五(五)")
    assert rows["G"][7] == "是"  # the second figure of the clause stays required
    assert sheet["A1"].value == "2027 年度专业镇统计数据导入模板（专业镇年度统计报表，第 1 版）"


def test_the_template_and_its_notes_say_the_change_the_city_s_statistics_file_allows(db, world, monkeypatch):
    """A city that asks for a reason only above 80 % sees 80 % in the explanation's header note and in the notes."""
    spec = city_statistics("  max_change: 0.3 ", "  max_change: 0.8 ")
    monkeypatch.setattr(excel.spec_of, "statistics_spec", lambda: spec)
    book = template(db, world["county"])
    header = {c.value: c for c in book["统计数据"][1]}
    assert header["情况说明"].comment.text.startswith("与上年相比变化超过 80% 的数据须说明原因，")
    notes = [v for (v,) in book[excel.NOTES_SHEET].iter_rows(min_col=1, max_col=1, values_only=True) if v]
    assert any(str(v).startswith("5. 情况说明：与上年已审核数据相比变化超过 80% 的数据") for v in notes), notes


def test_column_letters_go_on_after_z_as_excel_s_do():
    from openpyxl.utils import get_column_letter

    assert [excel.letter(i) for i in range(1, 800)] == [get_column_letter(i) for i in range(1, 800)]
    assert excel.letter(0) == ""  # no column: the file as a whole


def test_the_template_is_pre_filled_with_what_is_saved(db, world):
    report = sorted(own(world), key=lambda c: c.title)[0]
    with transaction(db) as s:
        fire(session=s, case_id=report.id, trigger="save_figures", actor=world["county"], now=NOW,
             payload={"figures": {"output_yi": "12.5", "employees": "300",
                                  "brands": [{"name": "盂县石材", "level": "provincial"}],
                                  "standards": [{"name": "建筑用石材加工规范", "kind": "group", "role": "lead"}]},
                      "explanations": {"output_yi": "新增两家龙头企业"}})
    sheet = template(db, world["county"])["统计数据"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == report.number)
    by = dict(zip(headers(sheet), (c.value for c in row), strict=True))
    assert (by["主导产业产值（亿元）"], by["从业人员（人）"], by["税收（万元）"]) == (12.5, 300, None)
    assert by["品牌（品牌名称|级别）"] == "盂县石材|省级"
    assert by["标准（标准名称|类别|参与方式）"] == "建筑用石材加工规范|团体标准|主导制定"
    assert by["情况说明"] == "新增两家龙头企业"  # one explanation: the row's cell as typed


def test_a_list_saved_with_a_choice_no_longer_offered_or_a_part_left_out_is_shown_as_it_is_kept(db, world):
    """A report kept from before a choice was renamed shows the kept key, and an entry without a part shows it
    empty, so the clerk sees what is there and corrects it."""
    report = sorted(own(world), key=lambda c: c.title)[0]
    with transaction(db) as s:
        case = s.get(Case, report.id)
        case.data = {**case.data, "figures": {"brands": [{"name": "盂县石材", "level": "county"}, {"name": "娘子关"}],
                                              "standards": [{"kind": "group", "role": "lead"}]}}
    sheet = template(db, world["county"])["统计数据"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == report.number)
    by = dict(zip(headers(sheet), (c.value for c in row), strict=True))
    assert by["品牌（品牌名称|级别）"] == "盂县石材|county;娘子关|"
    assert by["标准（标准名称|类别|参与方式）"] == "|团体标准|主导制定"


def test_a_report_s_several_explanations_are_one_cell_each_named_by_its_figure(db, world):
    first, second = sorted(own(world), key=lambda c: c.title)
    for report, explanations in ((first, {"output_yi": "龙头企业投产", "tax_wan": "税收政策调整"}),
                                 (second, {"output_yi": "同一原因", "employees": "同一原因"})):
        with transaction(db) as s:
            fire(session=s, case_id=report.id, trigger="save_figures", actor=world["county"], now=NOW,
                 payload={"figures": {"output_yi": "12.5"}, "explanations": explanations})
    cells = {r[0].value: r[-1].value for r in template(db, world["county"])["统计数据"].iter_rows(min_row=2)}
    # in the order the database keeps the keys (PostgreSQL JSONB sorts them)
    assert sorted(cells[first.number].split("；")) == ["主导产业产值：龙头企业投产", "税收：税收政策调整"]
    assert cells[second.number] == "同一原因"  # one reason for several figures is written once


def test_an_explanation_kept_for_a_figure_no_longer_asked_is_named_by_its_key(db, world):
    """A report kept from before a figure left the statistics file shows that figure's explanation under its key,
    next to the others named by their labels."""
    report = sorted(own(world), key=lambda c: c.title)[0]
    with transaction(db) as s:
        case = s.get(Case, report.id)
        case.data = {**case.data, "explanations": {"output_yi": "龙头企业投产", "retired_figure": "口径调整"}}
    cells = {r[0].value: r[-1].value for r in template(db, world["county"])["统计数据"].iter_rows(min_row=2)}
    assert sorted(cells[report.number].split("；")) == ["retired_figure：口径调整", "主导产业产值：龙头企业投产"]


def test_the_template_locks_the_headers_numbers_and_towns_and_checks_each_number_as_typed(db, world):
    sheet = template(db, world["county"])["统计数据"]
    locked = {c: sheet[c].protection.locked for c in ("A1", "C1", "A2", "B2", "B3", "C2", "C3", "O3", "Q3")}
    assert locked == {"A1": True, "C1": True, "A2": True, "B2": True, "B3": True,
                      "C2": False, "C3": False, "O3": False, "Q3": False}  # the figures of every row are open
    # the clerk may still widen a column or heighten a row to read a long name (protection forbids it by default)
    assert (sheet.protection.sheet, sheet.protection.formatColumns, sheet.protection.formatRows) == (True, False, False)
    rule = next(v for v in sheet.data_validations.dataValidation if str(v.sqref) == "C2:C3")
    assert (rule.type, rule.operator, rule.allow_blank, rule.showErrorMessage, rule.errorTitle, rule.error) == (
        "decimal", "between", True, True, "数据不正确", "主导产业产值应为 0～10000 之间的数字（最多 2 位小数）")
    whole = next(v for v in sheet.data_validations.dataValidation if str(v.sqref) == "E2:E3")
    assert whole.error == "市场主体数应为 0～1000000 之间的整数"
    decimal = "之间的数字（最多 2 位小数）"
    assert {str(v.sqref): (v.type, v.formula1, v.formula2, v.error) for v in sheet.data_validations.dataValidation} == {
        "C2:C3": ("decimal", "0", "10000", f"主导产业产值应为 0～10000 {decimal}"),
        "D2:D3": ("decimal", "0", "10000000", f"税收应为 0～10000000 {decimal}"),
        "E2:E3": ("whole", "0", "1000000", "市场主体数应为 0～1000000 之间的整数"),
        "F2:F3": ("whole", "0", "10000", "规上工业企业数应为 0～10000 之间的整数"),
        "G2:G3": ("whole", "0", "1000000", "从业人员应为 0～1000000 之间的整数"),
        "H2:H3": ("whole", "0", "10000", "高新技术企业应为 0～10000 之间的整数"),
        "I2:I3": ("whole", "0", "10000", "专精特新企业应为 0～10000 之间的整数"),
        "J2:J3": ("whole", "0", "100000", "有效发明专利应为 0～100000 之间的整数"),
        "K2:K3": ("whole", "0", "100", "地理标志应为 0～100 之间的整数"),
        "L2:L3": ("whole", "0", "1000", "公共服务平台应为 0～1000 之间的整数"),
        "M2:M3": ("whole", "0", "1000", "重点项目数应为 0～1000 之间的整数"),
        "N2:N3": ("decimal", "0", "100000", f"重点项目总投资应为 0～100000 {decimal}")}  # every number, its own words
    shown = {c.coordinate: c.number_format for r in sheet.iter_rows(min_row=1, max_row=4) for c in r
             if c.number_format != "General"}
    assert shown == {c: "0.00" for c in ("C2", "D2", "N2", "C3", "D3", "N3")}  # every decimal of every row


def test_only_a_county_with_reports_to_fill_gets_a_template(db, world, make):
    for actor in (world["office"], make.actor(make.user("leader")), make.actor(make.user("member"))):
        with transaction(db) as s, pytest.raises(Forbidden) as refused_to:
            excel.template(s, actor, 2026)
        assert (refused_to.value.zh, refused_to.value.en) == (
            "只有县（区）可以用 Excel 填报统计数据。", "Only a county fills in the statistics in Excel.")
    with transaction(db) as s, pytest.raises(NotFound) as none:
        excel.template(s, world["county"], 2025)
    assert (none.value.zh, none.value.en) == ("本县（区）没有该年度的统计报表。",
                                              "Your county has no statistics report of that year.")
    # another county's reports of the year are not this county's: 城区 has no town with a report
    with transaction(db) as s, pytest.raises(NotFound):
        excel.template(s, make.actor(make.user("county", county="城区")), 2026)
    # a year no report can have, however large (an address's number), is not found, not a database error
    for year in (0, -1, 10000, 10**20):
        with transaction(db) as s, pytest.raises(NotFound):
            excel.template(s, world["county"], year)
    for report in own(world):
        with transaction(db) as s:
            fire(session=s, case_id=report.id, trigger="submit_figures", actor=world["county"], now=NOW,
                 payload={"figures": FIGURES})
    with transaction(db) as s, pytest.raises(Unprocessable) as nothing:
        excel.template(s, world["county"], 2026)
    assert nothing.value.zh == "2026 年度没有待本县（区）填报的统计报表。"
    assert nothing.value.en == "No report of 2026 is waiting for your county's figures."


def test_round_trip_every_row_is_submitted_in_one_import_with_one_audit_event(db, world):
    book = template(db, world["county"])
    row_of = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}
    data = fill(book, {row_of["路家村镇"]: ROW, row_of["西烟镇"]: {**ROW, "主导产业产值（亿元）": 30}})
    done = imported(db, world["county"], data, submit=True)
    assert [c.state for c in done.reports] == ["submitted", "submitted"]
    with transaction(db) as s:
        rows = {c.title: c.data for c in s.exec(select(Case).where(Case.id.in_([c.id for c in own(world)])))}
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "statistics_imported")).all()
        fired = s.exec(select(AuditEvent).where(AuditEvent.trigger == "submit_figures")).all()
    assert rows["2026年度统计 · 西烟镇"]["figures"]["output_yi"] == 30.0
    figures = rows["2026年度统计 · 路家村镇"]["figures"]
    assert figures["output_yi"] == 12.5 and figures["employees"] == 5200
    assert figures["brands"] == [{"name": "盂县石材", "level": "provincial"}, {"name": "娘子关", "level": "municipal"}]
    assert figures["standards"] == [{"name": "建筑用石材加工规范", "kind": "group", "role": "lead"}]
    assert len(fired) == 2
    assert [json.loads(e.data)["reports"] for e in events] == [2]
    assert json.loads(events[0].data)["submitted"] is True
    assert json.loads(events[0].data)["filename"] == ""  # none was given: the trail names none
    assert (events[0].actor_id, events[0].county_id, json.loads(events[0].data)["report_year"]) == (
        world["county"].user_id, world["county"].unit_id, 2026)


def test_saving_keeps_an_incomplete_row_submitting_names_every_missing_figure(db, world):
    book = template(db, world["county"])
    data = fill(book, {2: {"主导产业产值（亿元）": 12.5}, 3: ROW})
    problem = refused(db, world["county"], data, submit=True)
    assert len(problem.details) == 11 and {d["row"] for d in problem.details} == {2}
    assert problem.details[0]["zh"] == "第 2 行 D 列（税收（万元））：请填写税收"
    assert (problem.details[0]["en"], problem.details[0]["field"]) == ("row 2, column D: fill in tax revenue",
                                                                     "tax_wan")
    done = imported(db, world["county"], data, submit=False)
    assert [c.state for c in done.reports] == ["filling", "filling"]


def test_one_bad_cell_in_the_last_row_and_nothing_is_written(db, world, make):
    # a thousand-row file is in bench/bench_statistics_import.py; here the last of two rows fails
    before = states(db, [c.id for c in own(world)])
    book = template(db, world["county"])
    data = fill(book, {2: ROW, 3: {**ROW, "从业人员（人）": 5200.5}})
    problem = refused(db, world["county"], data, submit=True)
    assert problem.zh == "文件未导入：发现 1 处问题，未写入任何数据。"
    assert [(d["row"], d["column"], d["header"], d["field"], d["problem"]) for d in problem.details] == [
        (3, "G", "从业人员（人）", "employees",
         {"zh": "从业人员须为整数", "en": "People employed must be a whole number"})]
    assert states(db, [c.id for c in own(world)]) == before
    with transaction(db) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.kind == "statistics_imported")).all() == []


def test_every_bad_cell_is_named_by_row_and_column(db, world):
    book = template(db, world["county"])
    wrong = {"主导产业产值（亿元）": "十二", "税收（万元）": 3200.125, "市场主体数（户）": -1,
             "品牌（品牌名称|级别）": "盂县石材", "标准（标准名称|类别|参与方式）": "规范|世界标准|主导制定"}
    data = fill(book, {2: {**ROW, **wrong}, 3: {**ROW, "情况说明": "长" * 501}})
    problem = refused(db, world["county"], data)
    assert [(d["row"], d["column"], d["problem"]["zh"]) for d in problem.details] == [
        (2, "C", "主导产业产值须为数字"), (2, "D", "税收最多保留 2 位小数"),
        (2, "E", "市场主体数应在 0～1000000户 之间"), (2, "O", "品牌第 1 项应写作“品牌名称|级别”"),
        (2, "P", "标准第 1 项的类别不正确"), (3, "Q", "情况说明不能超过 500 字")]


def test_a_large_change_needs_the_row_s_explanation_before_submit(db, world, make):
    town = world["towns"][0]
    accepted_last_year(db, world, town)
    book = template(db, world["county"])
    row_of = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}
    grown = {**ROW, "主导产业产值（亿元）": 25}
    data = fill(book, {row_of["西烟镇"]: grown, row_of["路家村镇"]: ROW})
    problem = refused(db, world["county"], data, submit=True)
    assert [(d["row"], d["column"], d["header"], d["field"], d["problem"]["zh"]) for d in problem.details] == [
        (row_of["西烟镇"], "Q", "情况说明", "output_yi",
         "主导产业产值由上年的 12.5亿元 变为 25亿元（+100%），请说明原因")]
    assert problem.details[0]["problem"]["en"] == (
        "Output of the leading industry moved from 12.5 to 25 (+100%) since last year: explain why")
    book = load_workbook(io.BytesIO(data))
    data = fill(book, {row_of["西烟镇"]: {"情况说明": "新增两家龙头企业投产"}})
    imported(db, world["county"], data, submit=True)
    with transaction(db) as s:
        report = next(c for c in s.exec(select(Case).where(Case.definition_key == "statistics_report"))
                      if c.town_id == town.id and c.data["report_year"] == 2026)
    assert report.state == "submitted" and report.data["explanations"] == {"output_yi": "新增两家龙头企业投产"}


def test_another_county_s_report_a_submitted_one_and_a_duplicate_row_are_refused(db, world):
    theirs = next(c for c in world["reports"] if c.town_id == world["towns"][2].id)
    good = fill(template(db, world["county"]), {2: ROW, 3: ROW})
    book = load_workbook(io.BytesIO(good))
    sheet = book["统计数据"]
    sheet.cell(row=4, column=1, value=theirs.number)
    sheet.cell(row=5, column=1, value=sheet["A2"].value)
    sheet.cell(row=6, column=1, value="TJ-2026-9999")
    problem = refused(db, world["county"], fill(book, {}))
    first, second = sheet["A2"].value, sheet["A3"].value
    assert [(d["row"], d["column"], d["header"], d["field"], d["problem"]["zh"], d["problem"]["en"])
            for d in problem.details] == [
        (4, "A", "报表编号", "number", f"报表编号 {theirs.number} 不存在或不属于本县（区）",
         f"no report {theirs.number} of your county"),
        (5, "A", "报表编号", "number", f"报表编号 {first} 与第 2 行重复", f"report {first} is also on row 2"),
        (6, "A", "报表编号", "number", "报表编号 TJ-2026-9999 不存在或不属于本县（区）",
         "no report TJ-2026-9999 of your county")]
    imported(db, world["county"], good, submit=True)
    again = refused(db, world["county"], good)  # the same file once the reports are with the office
    assert [(d["row"], d["column"], d["header"]) for d in again.details] == [(2, "A", "报表编号"), (3, "A", "报表编号")]
    assert [(d["field"], d["problem"]["zh"], d["problem"]["en"]) for d in again.details] == [
        ("number", f"报表 {first} 当前为“待审核”，不能再填报",
         f"report {first} is submitted and cannot be filled in"),
        ("number", f"报表 {second} 当前为“待审核”，不能再填报",
         f"report {second} is submitted and cannot be filled in")]
    with transaction(db) as s:
        accepted = s.exec(select(Case).where(Case.number == first)).one().id
    with transaction(db) as s:
        fire(session=s, case_id=accepted, trigger="accept_figures", actor=world["office"], now=NOW)
    assert [d["problem"]["zh"] for d in refused(db, world["county"], good).details] == [
        f"报表 {first} 当前为“已审核通过”，不能再填报", f"报表 {second} 当前为“待审核”，不能再填报"]


def test_another_year_s_workbook_is_refused_row_by_row(db, world):
    data = fill(template(db, world["county"]), {2: ROW, 3: ROW})
    with transaction(db) as s:
        open_reports(session=s, actor=world["office"], now=NOW, year=2025)
    problem = refused(db, world["county"], data, year=2025)
    number = load_workbook(io.BytesIO(data))["统计数据"]["A2"].value
    first = problem.details[0]
    assert (first["row"], first["column"], first["header"], first["field"], first["problem"]) == (
        2, "A", "报表编号", "number",
        {"zh": f"报表 {number} 属于 2026 年度，不是 2025 年度", "en": f"report {number} is of 2026, not 2025"})
    assert [d["row"] for d in problem.details] == [2, 3]  # the next row is checked as well


def test_formulas_are_refused_with_their_cells(db, world):
    book = template(db, world["county"])
    data = fill(book, {2: {**ROW, "主导产业产值（亿元）": "=10+2.5"}, 3: {**ROW, "税收（万元）": "=SUM(D2:D2)"}})
    problem = refused(db, world["county"], data)
    assert [(d["row"], d["column"], d["problem"]["zh"]) for d in problem.details] == [
        (2, "C", "单元格中是公式，请填写数值"), (3, "D", "单元格中是公式，请填写数值")]


def test_merged_cells_are_refused(db, world):
    book = template(db, world["county"])
    book["统计数据"].merge_cells("C2:D2")
    problem = refused(db, world["county"], fill(book, {}))
    assert [d["zh"] for d in problem.details] == ["工作表中有合并单元格 C2:D2，请取消合并后再导入"]


def test_a_file_that_is_not_a_workbook_is_refused(db, world):
    expected = "文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后上传。"
    for data in (b"report,number\nTJ-2026-0001,12.5\n", b"PK\x03\x04 broken zip", _zip_without_workbook()):
        assert refused(db, world["county"], data).zh == expected
    assert refused(db, world["county"], b"").zh == "请选择要上传的 Excel 文件。"


def _zip_without_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def test_the_wrong_sheet_or_wrong_headers_are_refused(db, world):
    book = Workbook()
    book.active.title = "Sheet1"
    out = io.BytesIO()
    book.save(out)
    wrong = refused(db, world["county"], out.getvalue())
    zh = "工作簿中没有工作表“统计数据”，请使用下载的模板填写。"
    en = "The workbook has no sheet named 统计数据: fill in the downloaded template."
    assert (wrong.zh, wrong.en, wrong.code, wrong.details) == (
        zh, en, "wrong_sheet", [{"field": "file", "zh": zh, "en": en}])
    book = template(db, world["county"])
    sheet = book["统计数据"]
    sheet["C1"] = "产值"
    sheet["R1"] = "备注"
    problem = refused(db, world["county"], fill(book, {}))
    assert [(d["zh"], d["en"]) for d in problem.details] == [
        ("第 1 行 C 列（主导产业产值（亿元））：表头应为“主导产业产值（亿元）”，实为“产值”",
         "row 1, column C: the header must be '主导产业产值（亿元）', not '产值'"),
        ("第 1 行 R 列（备注）：多出的列“备注”，请使用下载的模板",
         "row 1, column R: an extra column '备注': use the downloaded template")]
    book = template(db, world["county"])
    book["统计数据"].delete_cols(16, 2)  # the standards and the explanation
    problem = refused(db, world["county"], fill(book, {}))
    standards = "标准（标准名称|类别|参与方式）"
    assert [(d["header"], d["zh"], d["en"]) for d in problem.details] == [
        (standards, f"第 1 行 P 列（{standards}）：缺少表头“{standards}”",
         f"row 1, column P: the header '{standards}' is missing"),
        ("情况说明", "第 1 行 Q 列（情况说明）：缺少表头“情况说明”",
         "row 1, column Q: the header '情况说明' is missing")]


class Endless(io.RawIOBase):
    """A 50 MB upload that counts what is read of it."""

    def __init__(self, size=50 * 1024 * 1024):
        self.size, self.read_bytes = size, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.size - self.read_bytes if n is None or n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"\0" * n


def test_a_50_mb_file_is_refused_without_being_read_to_its_end(db, world):
    stream = Endless()
    with transaction(db) as s, pytest.raises(excel.FileTooLarge) as caught:
        excel.import_workbook(s, world["county"], 2026, stream, submit=False, now=NOW)
    assert caught.value.zh == "文件超过 10 MB，不能导入。" and caught.value.status == 413
    assert stream.read_bytes <= excel.MAX_BYTES + excel.CHUNK


def test_only_a_county_imports(db, world):
    data = fill(template(db, world["county"]), {2: ROW})
    with transaction(db) as s, pytest.raises(Forbidden):
        excel.import_workbook(s, world["office"], 2026, io.BytesIO(data), submit=False, now=NOW)


# --- the pages and the API -----------------------------------------------------------------------------------


@pytest.fixture
def people(make):
    return {"office": make.user("office", username="office_zhang"),
            "county": make.user("county", county="盂县", username="yx_clerk")}


@pytest.fixture
def opened(db, make, people):
    make.town("西烟镇", county="盂县")
    make.town("路家村镇", county="盂县")
    with transaction(db) as s:
        return open_reports(session=s, actor=make.actor(people["office"]), now=NOW, year=2026)


def test_the_county_downloads_and_uploads_on_the_overview(client, db, people, opened):
    with time_machine.travel(NOW, tick=False):
        login(client, "yx_clerk")
        page = client.get("/statistics?year=2026").get_data(as_text=True)
        assert "下载 Excel 模板" in page and "导入并报送" in page
        got = client.get("/statistics/2026/template.xlsx")
        assert got.status_code == 200 and got.mimetype == excel.XLSX
        assert "attachment" in got.headers["Content-Disposition"]
        good = fill(load_workbook(io.BytesIO(got.data)), {2: ROW, 3: ROW})
        bad = fill(load_workbook(io.BytesIO(got.data)), {2: ROW, 3: {**ROW, "从业人员（人）": "很多"}})
        token = csrf_token(client, "/statistics?year=2026")

        def post(data, **form):
            return client.post("/statistics/2026/import", data={"csrf_token": token, **form,
                                                                "file": (io.BytesIO(data), "统计.xlsx")},
                               content_type="multipart/form-data")

        refused_page = post(bad, action="submit", confirmed="yes")
        assert refused_page.status_code == 422
        text = refused_page.get_data(as_text=True)
        assert "文件未导入：发现 1 处问题，未写入任何数据。" in text
        assert '<tr data-row="3" data-column="G">' in text and "从业人员须为数字" in text
        unconfirmed = post(good, action="submit")
        assert unconfirmed.status_code == 422 and "报送前请勾选确认。" in unconfirmed.get_data(as_text=True)
        assert {s for s, _v, _o in states(db, [c.id for c in opened]).values()} == {"filling"}
        done = post(good, action="submit", confirmed="yes")
        assert done.status_code == 303
        shown = client.get("/statistics?year=2026").get_data(as_text=True)
        assert "已从工作簿导入 2 份报表并报送领导小组办公室。" in shown
    assert {s for s, _v, _o in states(db, [c.id for c in opened]).values()} == {"submitted"}


BOUNDARY = "zyz-boundary"


def multipart(fields: dict[str, str], size: int = 50 * 1024 * 1024) -> bytes:
    """A multipart body with the fields and a file of `size` bytes, built in memory (the test client would spool
    a file given as a stream to a temporary file the refused request never closes)."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.xlsx"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + b"\0" * size + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def test_a_50_mb_upload_is_refused_on_the_page_before_it_is_read(client, people, opened):
    with time_machine.travel(NOW, tick=False):
        login(client, "yx_clerk")
        token = csrf_token(client, "/statistics?year=2026")
        big = client.post("/statistics/2026/import", data=multipart({"csrf_token": token, "action": "save"}),
                          content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert big.status_code == 413 and "文件超过 10 MB，不能导入。" in big.get_data(as_text=True)


def test_the_api_downloads_the_template_and_imports_all_or_nothing(app, db, people, opened):
    api = app.test_client()
    with time_machine.travel(NOW, tick=False):
        county, office = api_headers(api, "yx_clerk"), api_headers(api, "office_zhang")
        assert api.get("/api/v1/statistics/2026/template.xlsx", headers=office).status_code == 403
        got = api.get("/api/v1/statistics/2026/template.xlsx", headers=county)
        assert got.status_code == 200 and got.mimetype == excel.XLSX
        assert api.get("/api/v1/statistics/2025/template.xlsx", headers=county).status_code == 404

        def post(data, submit):
            return api.post("/api/v1/statistics/2026/import", headers=county, content_type="multipart/form-data",
                            data={"submit": submit, "file": (io.BytesIO(data), "统计.xlsx")})

        bad = post(fill(load_workbook(io.BytesIO(got.data)), {2: ROW, 3: {**ROW, "税收（万元）": -5}}), "true")
        assert bad.status_code == 422 and bad.json["error"] == "import_refused"
        assert [(d["row"], d["column"], d["header"], d["problem"]["zh"]) for d in bad.json["details"]] == [
            (3, "D", "税收（万元）", "税收应在 0～10000000万元 之间")]
        assert post(b"not a workbook", "false").json["error"] == "not_a_workbook"
        assert post(b"", "maybe").status_code == 422
        ok = post(fill(load_workbook(io.BytesIO(got.data)), {2: ROW, 3: ROW}), "false")
        assert ok.status_code == 200, ok.json
    assert ok.json["submitted"] is False and [r["state"] for r in ok.json["reports"]] == ["filling", "filling"]
    assert sorted(r["number"] for r in ok.json["reports"]) == sorted(c.number for c in opened)


def test_a_50_mb_upload_is_refused_by_the_api_before_it_is_read(app, people, opened):
    api = app.test_client()
    with time_machine.travel(NOW, tick=False):
        county = api_headers(api, "yx_clerk")
        big = api.post("/api/v1/statistics/2026/import", headers=county, data=multipart({"submit": "false"}),
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert big.status_code == 413 and big.json["message"]["zh"] == "文件超过 10 MB，不能导入。"


def test_a_row_refused_while_writing_undoes_the_rows_written_before_it(db, world, monkeypatch):
    """A refusal the checks do not foresee (here the second fire fails): the first row's fire is rolled back with
    the rest, and the refusal names the row."""
    calls = []

    def second_fails(**kw):
        calls.append(kw["case_id"])
        if len(calls) == 2:
            why = {"field": "", "zh": "报表已被修改，请重新下载模板", "en": "changed meanwhile"}
            raise Unprocessable("不能执行该操作：报表已被修改", "changed meanwhile", details=[why])
        return fire(**kw)

    monkeypatch.setattr(excel, "fire", second_fails)
    before = states(db, [c.id for c in own(world)])
    problem = refused(db, world["county"], fill(template(db, world["county"]), {2: ROW, 3: ROW}), submit=True)
    assert [(d["row"], d["column"], d["problem"]["zh"]) for d in problem.details] == [
        (3, "A", "报表已被修改，请重新下载模板")]
    assert states(db, [c.id for c in own(world)]) == before
    with transaction(db) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.trigger == "submit_figures")).all() == []


def test_every_row_refused_while_writing_is_named_in_the_error_s_words_where_its_reasons_have_none(db, world,
                                                                                                  monkeypatch):
    def refuses(**kw):
        if kw["case_id"] == own(world)[0].id:  # reasons of its own, one of them without words
            raise Unprocessable("不能执行该操作", "Cannot do this",
                                details=[{"field": "tax_wan", "zh": "税收与上报不符", "en": "tax does not match"},
                                         {"field": "employees"}])
        raise Conflict("案件已被他人修改，请刷新后重试。", "The case has changed; reload and try again.",
                       details={"current_version": 2})  # details, but no reasons
    monkeypatch.setattr(excel, "fire", refuses)
    book = template(db, world["county"])
    row_of = {r[0].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}
    first, second = (row_of[c.number] for c in own(world))
    problem = refused(db, world["county"], fill(book, {2: ROW, 3: ROW}))
    assert sorted((d["row"], d["column"], d["header"], d["field"], d["problem"]["zh"], d["problem"]["en"])
                  for d in problem.details) == sorted([
        (first, "A", "报表编号", "number", "税收与上报不符", "tax does not match"),
        (first, "A", "报表编号", "number", "不能执行该操作", "Cannot do this"),
        (second, "A", "报表编号", "number", "案件已被他人修改，请刷新后重试。",
         "The case has changed; reload and try again.")])


def test_each_refusal_of_the_file_says_what_to_do_in_both_languages_with_its_code(db, world):
    empty = refused(db, world["county"], b"")
    assert (empty.zh, empty.en, empty.code, empty.details) == (
        "请选择要上传的 Excel 文件。", "Choose the Excel file to upload.", "no_file",
        [{"field": "file", "zh": "请选择要上传的 Excel 文件。", "en": "Choose the Excel file to upload."}])
    zh = "文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后上传。"
    en = "The file is not an Excel workbook (.xlsx): fill in the downloaded template and upload it."
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook>not closed")
    for data in (b"PK\x03\x04 broken zip", _zip_without_workbook(), broken.getvalue()):
        wrong = refused(db, world["county"], data)
        assert (wrong.zh, wrong.en, wrong.code, wrong.status, wrong.details) == (
            zh, en, "not_a_workbook", 422, [{"field": "file", "zh": zh, "en": en}])


def _with_part(book_bytes, name, content, compression=zipfile.ZIP_DEFLATED):
    """The workbook with one more part `name` (content: bytes, or a function of the other parts' unpacked size)."""
    with zipfile.ZipFile(io.BytesIO(book_bytes)) as archive:
        parts = [(i, archive.read(i.filename)) for i in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for info, data in parts:
            archive.writestr(info, data)
        archive.writestr(name, content(sum(len(d) for _, d in parts)) if callable(content) else content)
    return out.getvalue()


def _rewritten(book_bytes, name, pattern, new):
    """The workbook with the one match of `pattern` in one part's text replaced by `new`."""
    with zipfile.ZipFile(io.BytesIO(book_bytes)) as archive:
        parts = [(i, archive.read(i.filename)) for i in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts:
            if info.filename == name:
                text, found = re.subn(pattern, new, data.decode())
                assert found == 1, (name, pattern, found)
                data = text.encode()
            archive.writestr(info, data)
    return out.getvalue()


def _padded(book_bytes, unpacked):
    """The workbook with one more part, of zeros, so that its parts unpack to `unpacked` bytes in all."""
    return _with_part(book_bytes, "xl/media/padding.bin", lambda others: b"\0" * (unpacked - others))


def test_a_workbook_that_unpacks_to_more_than_100_mb_is_refused_and_one_of_exactly_100_mb_is_read(db, world):
    data = fill(template(db, world["county"]), {2: ROW})
    bomb = _padded(data, excel.MAX_UNPACKED + 1)
    assert len(bomb) < 1024 * 1024  # a small upload
    wrong = refused(db, world["county"], bomb, error=excel.FileTooLarge)
    zh, en = "工作簿解压后过大，不能导入。", "The workbook unpacks to too much data to import."
    assert (wrong.zh, wrong.en, wrong.status, wrong.details) == (zh, en, 413, [{"field": "file", "zh": zh, "en": en}])
    done = imported(db, world["county"], _padded(data, excel.MAX_UNPACKED))
    assert [c.state for c in done.reports] == ["filling", "filling"]


def test_a_problem_of_the_whole_file_has_no_place_and_one_of_a_cell_names_row_column_header_and_field(db, world):
    book = template(db, world["county"])
    book["统计数据"].merge_cells("C2:D2")
    assert refused(db, world["county"], fill(book, {})).details == [{
        "row": None, "column": None, "header": None, "field": "file",
        "problem": {"zh": "工作表中有合并单元格 C2:D2，请取消合并后再导入",
                    "en": "merged cells C2:D2: unmerge them and upload again"},
        "zh": "工作表中有合并单元格 C2:D2，请取消合并后再导入",
        "en": "merged cells C2:D2: unmerge them and upload again"}]
    formula = {**ROW, "主导产业产值（亿元）": "=1"}
    wrong = refused(db, world["county"], fill(template(db, world["county"]), {2: formula}))
    assert (wrong.zh, wrong.en, wrong.code) == (
        "文件未导入：发现 1 处问题，未写入任何数据。", "Nothing imported: 1 problem found; nothing was written.",
        "import_refused")
    assert wrong.details == [{
        "row": 2, "column": "C", "header": "主导产业产值（亿元）", "field": "output_yi",
        "problem": {"zh": "单元格中是公式，请填写数值", "en": "a formula: enter the value instead"},
        "zh": "第 2 行 C 列（主导产业产值（亿元））：单元格中是公式，请填写数值",
        "en": "row 2, column C: a formula: enter the value instead"}]
    book = template(db, world["county"])
    book["统计数据"]["C2"] = "=1"
    book["统计数据"]["C1"] = "产值"  # a wrong header is reported alone: the rows are not read
    twice = refused(db, world["county"], fill(book, {}))
    assert [(d["row"], d["column"], d["field"], d["en"]) for d in twice.details] == [
        (1, "C", "file", "row 1, column C: the header must be '主导产业产值（亿元）', not '产值'")]
    assert twice.en == "Nothing imported: 1 problem found; nothing was written."
    two = refused(db, world["county"], fill(template(db, world["county"]), {
        2: {**ROW, "主导产业产值（亿元）": "=1"}, 3: {**ROW, "税收（万元）": "=2"}}))
    assert two.en == "Nothing imported: 2 problems found; nothing was written."


def test_an_array_formula_is_a_formula_too(db, world):
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    book = template(db, world["county"])
    book["统计数据"]["C2"] = ArrayFormula("C2", "=SUM({1,2})")
    book["统计数据"]["D3"] = DataTableFormula(ref="D3", t="dataTable", r1="A1")  # a what-if table's cell
    data = fill(book, {2: {k: v for k, v in ROW.items() if k != "主导产业产值（亿元）"},
                       3: {k: v for k, v in ROW.items() if k != "税收（万元）"}})
    assert [(d["row"], d["column"], d["problem"]["zh"]) for d in refused(db, world["county"], data).details] == [
        (2, "C", "单元格中是公式，请填写数值"), (3, "D", "单元格中是公式，请填写数值")]


def test_lists_may_use_full_width_separators_and_new_lines_and_choices_their_english_names(db, world):
    row = {**ROW, "品牌（品牌名称|级别）": "盂县石材｜省级；娘子关 | municipal\n藏山｜NATIONAL",
           "标准（标准名称|类别|参与方式）": "建筑用石材加工规范｜Association standard｜lead author"}
    book = template(db, world["county"])
    number = book["统计数据"]["A2"].value
    imported(db, world["county"], fill(book, {2: row}))
    with transaction(db) as s:
        figures = s.exec(select(Case).where(Case.number == number)).one().data["figures"]
    assert figures["brands"] == [{"name": "盂县石材", "level": "provincial"}, {"name": "娘子关", "level": "municipal"},
                                 {"name": "藏山", "level": "national"}]
    assert figures["standards"] == [{"name": "建筑用石材加工规范", "kind": "group", "role": "lead"}]
    wrong = refused(db, world["county"], fill(template(db, world["county"]), {
        2: {**ROW, "标准（标准名称|类别|参与方式）": "规范｜团体标准"}}))
    assert [(d["problem"]["zh"], d["problem"]["en"]) for d in wrong.details] == [
        ("标准第 1 项应写作“标准名称|类别|参与方式”", "Standards no. 1 must be written Standard|Kind|Role")]


def test_a_whole_number_typed_as_a_decimal_is_read_as_the_whole_number(db, world):
    # some tools write 2024 as 2024.0: the explanation keeps what the person typed
    town = world["towns"][0]
    accepted_last_year(db, world, town)
    book = template(db, world["county"])
    row_of = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}
    row = row_of["西烟镇"]
    data = fill(book, {row: {**ROW, "主导产业产值（亿元）": 25, "情况说明": 2024}})
    # openpyxl writes 2024; the file as such a tool writes it
    data = _rewritten(data, "xl/worksheets/sheet1.xml", rf'(<c r="Q{row}"[^>]*>)<v>2024</v>', r"\1<v>2024.0</v>")
    assert load_workbook(io.BytesIO(data))["统计数据"][f"Q{row}"].value == 2024.0
    (report,) = [c for c in imported(db, world["county"], data).reports if c.town_id == town.id]
    with transaction(db) as s:
        assert s.get(Case, report.id).data["explanations"] == {"output_yi": "2024"}


def test_a_file_of_exactly_10_mb_is_read_and_one_byte_more_is_not(db, world):
    with pytest.raises(excel.FileTooLarge) as caught:
        imported(db, world["county"], b"\0" * (excel.MAX_BYTES + 1))
    zh, en = "文件超过 10 MB，不能导入。", "The file is larger than 10 MB and cannot be imported."
    assert (caught.value.zh, caught.value.en, caught.value.details) == (zh, en, [{"field": "file", "zh": zh, "en": en}])
    assert refused(db, world["county"], b"\0" * excel.MAX_BYTES).code == "not_a_workbook"  # read, then judged


def test_a_workbook_larger_than_one_read_is_read_whole(db, world):
    data = fill(template(db, world["county"]), {2: ROW})
    # 256 KB stored as it is: several reads of 64 KB
    large = _with_part(data, "xl/media/photo.bin", bytes(range(256)) * 1024, zipfile.ZIP_STORED)
    assert len(large) > 3 * excel.CHUNK
    assert [c.state for c in imported(db, world["county"], large).reports] == ["filling", "filling"]


def test_a_sheet_of_more_than_5000_rows_is_refused_and_one_of_5000_is_read(db, world):
    book = template(db, world["county"])
    book["统计数据"].cell(row=5002, column=1, value="TJ-2026-9999")  # 5001 rows under the header
    problem = refused(db, world["county"], fill(book, {}))
    assert [(d["row"], d["column"], d["header"], d["zh"], d["en"]) for d in problem.details] == [
        (None, None, None, "工作表超过 5000 行", "the sheet has more than 5000 rows")]
    book = template(db, world["county"])
    book["统计数据"].cell(row=5001, column=1, value="TJ-2026-9999")  # 5000 rows: read, and the number checked
    problem = refused(db, world["county"], fill(book, {}))
    assert [(d["row"], d["problem"]["zh"]) for d in problem.details] == [
        (5001, "报表编号 TJ-2026-9999 不存在或不属于本县（区）")]


def test_a_formula_in_the_last_column_or_beyond_the_template_is_named_where_it_is(db, world):
    book = template(db, world["county"])
    book["统计数据"]["Q2"] = "=1"
    book["统计数据"]["R2"] = "=2"
    problem = refused(db, world["county"], fill(book, {2: ROW}))
    assert [(d["row"], d["column"], d["header"], d["field"], d["zh"]) for d in problem.details] == [
        (2, "Q", "情况说明", "explanation", "第 2 行 Q 列（情况说明）：单元格中是公式，请填写数值"),
        (2, "R", None, "file", "第 2 行 R 列：单元格中是公式，请填写数值")]


def test_a_note_outside_the_template_s_columns_under_no_header_is_not_an_extra_column(db, world):
    book = template(db, world["county"])
    book["统计数据"]["R2"] = "备注：已核对"
    assert [c.state for c in imported(db, world["county"], fill(book, {2: ROW})).reports] == ["filling", "filling"]


def test_a_sheet_with_its_headers_only_is_refused_as_having_no_rows(db, world):
    book = template(db, world["county"])
    book["统计数据"].delete_rows(2, book["统计数据"].max_row)
    wrong = refused(db, world["county"], fill(book, {}))
    zh, en = "工作表中没有数据行。", "The sheet has no rows of figures."
    assert (wrong.zh, wrong.en, wrong.code, wrong.details) == (zh, en, "import_refused", [{
        "row": None, "column": None, "header": None, "field": "file", "problem": {"zh": zh, "en": en},
        "zh": zh, "en": en}])


def test_the_report_number_names_the_row_and_only_a_statistics_report_of_the_county_is_one(db, world, make):
    book = template(db, world["county"])
    # the town's name cleared: the number alone says which report a row is
    first = book["统计数据"]["A2"].value
    book["统计数据"]["B2"] = None
    imported(db, world["county"], fill(book, {2: ROW}))
    with transaction(db) as s:
        assert s.exec(select(Case).where(Case.number == first)).one().data["figures"]["output_yi"] == 12.5
    # a row without its number, and a row with the number of the county's designation case
    designation = make.case("designation", town=world["towns"][0])
    book = template(db, world["county"])
    book["统计数据"]["A2"] = None
    book["统计数据"]["A3"] = designation.number
    problem = refused(db, world["county"], fill(book, {2: ROW, 3: ROW}))
    assert [(d["row"], d["column"], d["header"], d["field"], d["zh"], d["en"]) for d in problem.details] == [
        (2, "A", "报表编号", "number", "第 2 行 A 列（报表编号）：请填写报表编号",
         "row 2, column A: the report number is empty"),
        (3, "A", "报表编号", "number",
         f"第 3 行 A 列（报表编号）：报表编号 {designation.number} 不存在或不属于本县（区）",
         f"row 3, column A: no report {designation.number} of your county")]
    # no row with a number at all
    book = template(db, world["county"])
    for row in (2, 3):
        book["统计数据"].cell(row=row, column=1).value = None
    problem = refused(db, world["county"], fill(book, {2: ROW}))
    assert [(d["row"], d["problem"]["zh"]) for d in problem.details] == [(2, "请填写报表编号"), (3, "请填写报表编号")]


def test_an_explanation_of_500_characters_is_kept_and_the_file_s_name_and_digest_are_in_the_trail(db, world):
    book = template(db, world["county"])
    number = book["统计数据"]["A2"].value
    too_long = refused(db, world["county"], fill(book, {2: {**ROW, "情况说明": "长" * 501}}))
    assert [(d["column"], d["header"], d["field"], d["problem"]["en"]) for d in too_long.details] == [
        ("Q", "情况说明", "explanation", "the explanation is longer than 500 characters")]
    one_part = {**ROW, "品牌（品牌名称|级别）": "盂县石材"}
    brands = refused(db, world["county"], fill(template(db, world["county"]), {2: one_part}))
    assert [(d["column"], d["header"], d["field"], d["problem"]["en"]) for d in brands.details] == [
        ("O", "品牌（品牌名称|级别）", "brands", "Brands no. 1 must be written Brand|Level")]
    data = fill(template(db, world["county"]), {2: {**ROW, "情况说明": "长" * 500}})
    with transaction(db) as s:
        excel.import_workbook(s, world["county"], 2026, io.BytesIO(data), submit=False, now=NOW,
                              filename="盂县" + "统" * 300 + ".xlsx")
    with transaction(db) as s:
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.kind == "statistics_imported")).all()
    recorded = json.loads(event.data)
    assert recorded["filename"] == "盂县" + "统" * 198  # the first 200 characters
    assert recorded["sha256"] == hashlib.sha256(data).hexdigest()
    assert recorded["numbers"][0] == number and len(recorded["numbers"]) == 2


def test_a_row_with_a_bad_cell_is_not_checked_further_until_its_cells_are_right(db, world):
    town = world["towns"][0]
    accepted_last_year(db, world, town)
    book = template(db, world["county"])
    row = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}["西烟镇"]
    grown = {**ROW, "主导产业产值（亿元）": 25}  # a large change, unexplained
    one_part = {**grown, "品牌（品牌名称|级别）": "盂县石材"}
    bad_list = refused(db, world["county"], fill(book, {row: one_part}), submit=True)
    assert [(d["column"], d["problem"]["zh"]) for d in bad_list.details if d["row"] == row] == [
        ("O", "品牌第 1 项应写作“品牌名称|级别”")]
    book = template(db, world["county"])
    bad_number = refused(db, world["county"], fill(book, {row: {**grown, "从业人员（人）": 5200.5}}), submit=True)
    assert [(d["column"], d["problem"]["zh"]) for d in bad_number.details if d["row"] == row] == [
        ("G", "从业人员须为整数")]
    # an explanation too long is a bad cell too: the row's missing figures are not asked for yet
    book = template(db, world["county"])
    long_text = refused(db, world["county"], fill(book, {row: {"主导产业产值（亿元）": 25, "情况说明": "长" * 501}}),
                        submit=True)
    assert [(d["column"], d["problem"]["zh"]) for d in long_text.details if d["row"] == row] == [
        ("Q", "情况说明不能超过 500 字")]


def test_a_large_change_saved_without_an_explanation_keeps_none(db, world):
    town = world["towns"][0]
    accepted_last_year(db, world, town)
    book = template(db, world["county"])
    row = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}["西烟镇"]
    done = imported(db, world["county"], fill(book, {row: {**ROW, "主导产业产值（亿元）": 25}}))
    (report,) = [c for c in done.reports if c.town_id == town.id]
    with transaction(db) as s:
        saved = s.get(Case, report.id).data
    assert (saved["figures"]["output_yi"], saved["explanations"]) == (25, {})


def test_a_large_change_is_measured_against_the_latest_year_accepted_before_the_report_s_own(db, world):
    town = world["towns"][0]
    accepted_last_year(db, world, town, year=2024, output="6")
    accepted_last_year(db, world, town, year=2025, output="12.5", explained="新建石材产业园投产")
    book = template(db, world["county"])
    row_of = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}
    # 12.5 in 2026: no change from 2025 (twice 2024's 6, which is not the year before)
    done = imported(db, world["county"], fill(book, {row_of["西烟镇"]: ROW, row_of["路家村镇"]: ROW}), submit=True)
    assert [c.state for c in done.reports if c.town_id == town.id] == ["submitted"]


def test_a_late_report_is_measured_against_the_year_before_it_not_a_later_year_accepted(db, world):
    town = world["towns"][0]
    accepted_last_year(db, world, town, year=2024, output="12.5")
    accepted_last_year(db, world, town, year=2026, output="25", explained="两家龙头企业投产")
    with transaction(db) as s:
        open_reports(session=s, actor=world["office"], now=NOW, year=2025)
    book = template(db, world["county"], year=2025)  # 2025's reports, filled after 2026's was accepted
    row_of = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}
    # 25 in 2025 is a large change from 2024's 12.5 (though no change from 2026's 25) …
    grown = refused(db, world["county"], fill(book, {row_of["西烟镇"]: {**ROW, "主导产业产值（亿元）": 25},
                                                     row_of["路家村镇"]: ROW}), submit=True, year=2025)
    assert [(d["row"], d["problem"]["zh"]) for d in grown.details] == [
        (row_of["西烟镇"], "主导产业产值由上年的 12.5亿元 变为 25亿元（+100%），请说明原因")]
    # … and 12.5 is none (though half of 2026's)
    book = template(db, world["county"], year=2025)
    done = imported(db, world["county"], fill(book, {row_of["西烟镇"]: ROW, row_of["路家村镇"]: ROW}), submit=True,
                    year=2025)
    assert [c.state for c in done.reports if c.town_id == town.id] == ["submitted"]


def test_each_row_s_report_is_read_once_for_the_county_and_not_again_to_write_it(db, world, monkeypatch):
    """The rows are checked on the reports read for the county (one query for the file); writing each hands fire the
    report already read, so a file of many rows costs no read of a report per row."""
    book = template(db, world["county"])
    row_of = {r[1].value: r[0].row for r in book["统计数据"].iter_rows(min_row=2)}
    data = fill(book, {row_of["路家村镇"]: ROW, row_of["西烟镇"]: ROW})
    with counted(db.kw["bind"], monkeypatch) as statements:
        done = imported(db, world["county"], data, submit=True)
    assert [c.state for c in done.reports] == ["submitted", "submitted"]
    rows_read = [q for q in statements if shape(q) == "SELECT case_file" and "case_file.state" in q]  # a whole report
    assert len(rows_read) == 1, listing(statements)
