"""The statistics in Excel: a county downloads its towns' reports of a year as one workbook (one row per report,
pre-filled with what is saved, the fields' labels and units as headers, each number column validated in the
sheet), fills it and uploads it. Every row and cell is checked against the same rules as the form
(workflow/statistics/fields.py); every problem is named by row and column; nothing is written unless the whole
file is valid, and then every report is saved (or submitted) through `fire` in the caller's one transaction.

The workbook's form (also written on its sheet 说明):

- sheet 统计数据, row 1 the headers, one row per report from row 2: 报表编号 (how a row finds its report),
  专业镇, then every number field as "label（unit）", then every list field (品牌, 标准) as one text column,
  its entries separated by ";" and an entry's parts by "|" in the order of the field's items
  (品牌: "盂县石材|省级;娘子关|市级"; a choice by its Chinese label or its key), then 情况说明;
- 情况说明 is the reason for the figures that moved more than the allowed share from the town's last accepted
  year: it is kept for each of them (and not kept when no figure moved that far);
- a row replaces what the report holds: an empty cell empties its figure, an empty list cell its list.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.engine import fire
from workflow.core.errors import Forbidden, NotFound, Unprocessable, WorkflowError
from workflow.core.models import Case, Role, Town, TownStatistics
from workflow.statistics import fields as spec_of

SHEET = "统计数据"
NOTES_SHEET = "说明"
NUMBER_HEADER = "报表编号"
TOWN_HEADER = "专业镇"
EXPLANATION_HEADER = "情况说明"
FILLABLE = ("filling", "returned")
MAX_BYTES = 10 * 1024 * 1024  # the file as uploaded
MAX_UNPACKED = 100 * 1024 * 1024  # its parts once unzipped (a small zip can unpack to gigabytes)
MAX_ROWS = 5000
CHUNK = 64 * 1024
ITEM_SEPARATORS = (";", "；", "\n")
PART_SEPARATORS = ("|", "｜")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FileTooLarge(WorkflowError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # the field's key; "number", "town" or "explanation" for the others
    field: spec_of.Field | None = None


def columns(spec: spec_of.StatisticsSpec) -> list[Column]:
    """The workbook's columns in order."""
    found = [Column(NUMBER_HEADER, "number"), Column(TOWN_HEADER, "town")]
    found += [Column(f"{f.label.zh}（{f.unit.zh}）" if f.unit else f.label.zh, f.key, f)
              for f in spec.fields if f.is_number]
    found += [Column(f"{f.label.zh}（{'|'.join(i.label.zh for i in f.items)}）", f.key, f)
              for f in spec.fields if f.type == "items"]
    found.append(Column(EXPLANATION_HEADER, "explanation"))
    return found


def letter(index: int) -> str:
    """The column letter of a 1-based column index (1 → A, 27 → AA)."""
    name = ""
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


# --- the template --------------------------------------------------------------------------------------------


def _county_year(session: Session, actor: Actor, year: int) -> None:
    """Refuse anyone but a county, and a year of which the county has no report at all (as not found)."""
    if actor.role != Role.county:
        raise Forbidden("只有县（区）可以用 Excel 填报统计数据。", "Only a county fills in the statistics in Excel.")
    if not 0 < year < 10000 or session.exec(
            select(Case.id).where(case_filter(actor), Case.definition_key == "statistics_report",
                                  col(Case.data)["report_year"].as_integer() == year).limit(1)).first() is None:
        raise NotFound("本县（区）没有该年度的统计报表。", "Your county has no statistics report of that year.")


def fillable_reports(session: Session, actor: Actor, year: int) -> list[tuple[Case, str]]:
    """The reports of `year` the actor may fill now (a county: its towns' reports being filled or returned), each
    with its town's name, by town."""
    _county_year(session, actor, year)
    rows = session.exec(
        select(Case, Town.name).join(Town, col(Town.id) == col(Case.town_id))
        .where(case_filter(actor), Case.definition_key == "statistics_report", col(Case.state).in_(FILLABLE),
               col(Case.data)["report_year"].as_integer() == year)
        .order_by(col(Town.name), col(Case.id))).all()
    return [(case, town) for case, town in rows]


def _items_text(field: spec_of.Field, items: list[dict[str, str]] | None) -> str:
    parts = []
    for item in items or []:
        shown = []
        for sub in field.items:
            value = item.get(sub.key, "")
            shown.append(dict(sub.choices)[value].zh if sub.type == "choice" and value in dict(sub.choices)
                         else value)
        parts.append("|".join(shown))
    return ";".join(parts)


def _explanation_text(explanations: dict[str, str]) -> str:
    texts = list(dict.fromkeys(t for t in explanations.values() if t))
    if len(texts) <= 1:
        return texts[0] if texts else ""
    spec = spec_of.statistics_spec()
    return "；".join(f"{(spec.field(k).label.zh if spec.field(k) else k)}：{t}"  # type: ignore[union-attr]
                     for k, t in explanations.items() if t)


def template(session: Session, actor: Actor, year: int) -> bytes:
    """The year's workbook for the actor's towns, pre-filled with what is saved (Unprocessable when there is
    nothing to fill)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    reports = fillable_reports(session, actor, year)
    if not reports:
        raise Unprocessable(f"{year} 年度没有待本县（区）填报的统计报表。",
                            f"No report of {year} is waiting for your county's figures.")
    spec = spec_of.statistics_spec()
    cols = columns(spec)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append([c.header for c in cols])
    bold, grey = Font(bold=True), PatternFill("solid", fgColor="DDDDDD")
    for i, c in enumerate(cols, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font, cell.alignment = bold, Alignment(wrap_text=True, vertical="center")
        if c.key in ("number", "town"):
            cell.fill = grey
        width = 16 if c.field and c.field.is_number else 36 if c.field or c.key == "explanation" else 14
        sheet.column_dimensions[letter(i)].width = width
        if c.field and c.field.type == "items":
            cell.comment = Comment("每项写作“" + "|".join(s.label.zh for s in c.field.items) +
                                   "”，多项以“;”分隔；选项填中文名称。", "zyz")
        elif c.key == "explanation":
            cell.comment = Comment(f"与上年相比变化超过 {spec.max_change * 100:.0f}% 的数据须说明原因，"
                                   "此处的说明适用于本行每一项这样的数据。", "zyz")
    sheet.row_dimensions[1].height = 45
    for case, town in reports:
        figures, explanations = case.data.get("figures") or {}, case.data.get("explanations") or {}
        row: list[Any] = [case.number, town]
        for c in cols[2:-1]:
            assert c.field is not None
            value = figures.get(c.field.key)
            row.append(_items_text(c.field, value) if c.field.type == "items" else value)
        row.append(_explanation_text(explanations))
        sheet.append(row)
    last = len(reports) + 1
    unlocked = Protection(locked=False)
    for i, c in enumerate(cols, start=1):
        if c.key in ("number", "town"):
            continue
        for (cell,) in sheet.iter_rows(min_row=2, max_row=last, min_col=i, max_col=i):
            cell.protection = unlocked
        if c.field and c.field.is_number:
            whole = c.field.type == "integer"
            rule = DataValidation(
                type="whole" if whole else "decimal", operator="between", allow_blank=True,
                formula1=spec_of.shown(c.field.min), formula2=spec_of.shown(c.field.max), showErrorMessage=True,
                errorTitle="数据不正确",
                error=f"{c.field.label.zh}应为 {spec_of.shown(c.field.min)}～{spec_of.shown(c.field.max)} 之间的"
                      + ("整数" if whole else f"数字（最多 {spec_of.DECIMALS} 位小数）"))
            rule.add(f"{letter(i)}2:{letter(i)}{last}")
            sheet.add_data_validation(rule)
            if not whole:
                for (cell,) in sheet.iter_rows(min_row=2, max_row=last, min_col=i, max_col=i):
                    cell.number_format = "0.00"
    sheet.freeze_panes = "C2"
    # Protected without a password: the report numbers and towns stay as they are; the figures are open.
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    _notes(book.create_sheet(NOTES_SHEET), spec, cols, year)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _notes(sheet: Any, spec: spec_of.StatisticsSpec, cols: list[Column], year: int) -> None:
    from openpyxl.styles import Font

    sheet.append([f"{year} 年度专业镇统计数据导入模板（{spec.label.zh}，第 {spec.version} 版）"])
    sheet["A1"].font = Font(bold=True, size=13)
    for line in (
        f"1. 请在工作表“{SHEET}”中填写，每行一个专业镇；不要修改表头、报表编号和专业镇，不要合并单元格，"
        "不要使用公式（请填写数值）。",
        "2. 上传后系统逐行逐项检查；有任何错误时整份文件都不导入，并按行、列列出问题；全部正确时一次写入。",
        "3. 每行的内容替换该报表已保存的数据：留空的单元格即清空该项。选择“报送”时，必填项须全部填写。",
        "4. 品牌、标准：每项写作“名称|级别”或“名称|类别|参与方式”，多项以“;”分隔，选项填中文名称"
        "（如：盂县石材|省级;娘子关|市级）。",
        f"5. 情况说明：与上年已审核数据相比变化超过 {spec.max_change * 100:.0f}% 的数据须说明原因后才能报送；"
        "本列的说明适用于该行每一项这样的数据。",
        f"6. 文件不超过 {MAX_BYTES // 1024 // 1024} MB。",
    ):
        sheet.append([line])
    sheet.append([])
    sheet.append(["列", "表头", "字段", "类型", "单位", "最小值", "最大值", "必填", "规划条款"])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    kinds = {"decimal": f"数字（最多 {spec_of.DECIMALS} 位小数）", "integer": "整数", "items": "列表（文本）"}
    for i, c in enumerate(cols, start=1):
        f = c.field
        sheet.append([letter(i), c.header, f.key if f else c.key, kinds[f.type] if f else "文本",
                      f.unit.zh if f and f.unit else "", spec_of.shown(f.min) if f and f.min is not None else "",
                      spec_of.shown(f.max) if f and f.max is not None else "",
                      ("是" if f.required else "否") if f and f.is_number else "", f.clause if f else ""])
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 34
    for name in "CDEFGHI":
        sheet.column_dimensions[name].width = 14


# --- the import ----------------------------------------------------------------------------------------------


def _problem(row: int, column: int, header: str, zh: str, en: str, field: str = "file") -> dict[str, Any]:
    """One problem of the file: where (row, column letter and header; none for the file as a whole), the bare
    problem, and the whole sentence."""
    where = letter(column)  # "" for column 0: the file as a whole
    at_zh = (f"第 {row} 行" if row else "") + (f" {where} 列" if where else "") + (f"（{header}）" if header else "")
    at_en = ", ".join(x for x in (f"row {row}" if row else "", f"column {where}" if where else "") if x)
    return {"row": row or None, "column": where or None, "header": header or None, "field": field,
            "problem": {"zh": zh, "en": en},
            "zh": f"{at_zh.strip()}：{zh}" if at_zh else zh, "en": f"{at_en}: {en}" if at_en else en}


def _refuse(problems: list[dict[str, Any]]) -> Unprocessable:
    return Unprocessable(f"文件未导入：发现 {len(problems)} 处问题，未写入任何数据。",
                         f"Nothing imported: {len(problems)} problem{'' if len(problems) == 1 else 's'} found; "
                         "nothing was written.",
                         code="import_refused", details=problems)


def _read_limited(stream: IO[bytes]) -> bytes:
    """The upload, read in chunks; refused as soon as it passes the limit (the rest is never read)."""
    chunks, size = [], 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_BYTES:
            zh, en = (f"文件超过 {MAX_BYTES // 1024 // 1024} MB，不能导入。",
                      f"The file is larger than {MAX_BYTES // 1024 // 1024} MB and cannot be imported.")
            raise FileTooLarge(zh, en, details=[{"field": "file", "zh": zh, "en": en}])
        chunks.append(chunk)
    return b"".join(chunks)


NOT_A_WORKBOOK = ("文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后上传。",
                  "The file is not an Excel workbook (.xlsx): fill in the downloaded template and upload it.")


def _open(data: bytes) -> Any:
    from openpyxl import load_workbook

    def not_a_workbook() -> Unprocessable:
        return Unprocessable(*NOT_A_WORKBOOK, code="not_a_workbook",
                             details=[{"field": "file", "zh": NOT_A_WORKBOOK[0], "en": NOT_A_WORKBOOK[1]}])

    if not data:
        zh, en = "请选择要上传的 Excel 文件。", "Choose the Excel file to upload."
        raise Unprocessable(zh, en, code="no_file", details=[{"field": "file", "zh": zh, "en": en}])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise not_a_workbook() from None
    if "xl/workbook.xml" not in names:
        raise not_a_workbook()
    if unpacked > MAX_UNPACKED:
        zh, en = "工作簿解压后过大，不能导入。", "The workbook unpacks to too much data to import."
        raise FileTooLarge(zh, en, details=[{"field": "file", "zh": zh, "en": en}])
    try:
        return load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
    except Exception:  # openpyxl raises what the broken part gives: KeyError, XML errors, TypeError, ...
        raise not_a_workbook() from None


def _is_formula(cell: Any) -> bool:
    # openpyxl reads every cell with a formula as "f", an array or data-table formula too (its value an object)
    return cell.data_type == "f"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_items(field: spec_of.Field, raw: Any) -> tuple[list[dict[str, str]] | None, tuple[str, str] | None]:
    """A list cell's entries as the form gives them, or why they cannot be read."""
    text = _text(raw)
    for sep in ITEM_SEPARATORS[1:]:
        text = text.replace(sep, ITEM_SEPARATORS[0])
    items = []
    for n, entry in enumerate((e.strip() for e in text.split(ITEM_SEPARATORS[0]) if e.strip()), start=1):
        for sep in PART_SEPARATORS[1:]:
            entry = entry.replace(sep, PART_SEPARATORS[0])
        parts = [p.strip() for p in entry.split(PART_SEPARATORS[0])]
        if len(parts) != len(field.items):
            form = "|".join(s.label.zh for s in field.items)
            return None, (f"{field.label.zh}第 {n} 项应写作“{form}”",
                          f"{field.label.en} no. {n} must be written " + "|".join(s.label.en for s in field.items))
        item = {}
        for sub, part in zip(field.items, parts, strict=True):
            if sub.type == "choice":  # a choice by its Chinese or English label, in any case
                by_label = {name.lower(): key for key, label in sub.choices for name in (label.zh, label.en)}
                part = by_label.get(part.lower(), part)
            item[sub.key] = part
        items.append(item)
    return items, None


def _last_figures(session: Session, town_ids: set[int], year: int) -> dict[int, dict[str, Any]]:
    """Each town's latest accepted figures before `year` (what the anomalies compare with), in one query."""
    if not town_ids:
        return {}
    found: dict[int, tuple[int, dict[str, Any]]] = {}
    for row in session.exec(select(TownStatistics).where(col(TownStatistics.town_id).in_(town_ids),
                                                         col(TownStatistics.year) < year)):
        if row.town_id not in found or found[row.town_id][0] < row.year:
            found[row.town_id] = (row.year, row.figures)
    return {town: figures for town, (_, figures) in found.items()}


@dataclass(frozen=True)
class Imported:
    reports: list[Case]
    submitted: bool
    sha256: str


def import_workbook(session: Session, actor: Actor, year: int, stream: IO[bytes], *, submit: bool, now: datetime,
                    filename: str = "") -> Imported:
    """Check the whole workbook and, only when every row is right, save (or submit) each row's report in the
    caller's transaction; otherwise Unprocessable whose details name every problem by row and column."""
    _county_year(session, actor, year)
    data = _read_limited(stream)
    book = _open(data)
    if SHEET not in book.sheetnames:
        zh = f"工作簿中没有工作表“{SHEET}”，请使用下载的模板填写。"
        en = f"The workbook has no sheet named {SHEET}: fill in the downloaded template."
        raise Unprocessable(zh, en, code="wrong_sheet", details=[{"field": "file", "zh": zh, "en": en}])
    sheet = book[SHEET]
    spec = spec_of.statistics_spec()
    cols = columns(spec)
    problems: list[dict[str, Any]] = []
    for merged in sorted(str(r) for r in sheet.merged_cells.ranges):
        problems.append(_problem(0, 0, "", f"工作表中有合并单元格 {merged}，请取消合并后再导入",
                                 f"merged cells {merged}: unmerge them and upload again"))
    if sheet.max_row - 1 > MAX_ROWS:
        problems.append(_problem(0, 0, "", f"工作表超过 {MAX_ROWS} 行", f"the sheet has more than {MAX_ROWS} rows"))
    if problems:
        raise _refuse(problems)
    header_row = next(sheet.iter_rows(min_row=1, max_row=1), ())
    found_headers = [_text(c.value) for c in header_row]
    for i, c in enumerate(cols, start=1):
        got = found_headers[i - 1] if i <= len(found_headers) else ""
        if got != c.header:
            zh, en = ((f"表头应为“{c.header}”，实为“{got}”", f"the header must be {c.header!r}, not {got!r}") if got
                      else (f"缺少表头“{c.header}”", f"the header {c.header!r} is missing"))
            problems.append(_problem(1, i, c.header, zh, en))
    for i in range(len(cols) + 1, len(found_headers) + 1):
        if found_headers[i - 1]:
            problems.append(_problem(1, i, found_headers[i - 1], f"多出的列“{found_headers[i - 1]}”，请使用下载的模板",
                                     f"an extra column {found_headers[i - 1]!r}: use the downloaded template"))
    if problems:
        raise _refuse(problems)

    # The rows: formulas anywhere, then each row's report and values.
    rows: list[tuple[int, list[Any]]] = []
    for cells in sheet.iter_rows(min_row=2):
        values: list[Any] = []
        for i, cell in enumerate(cells, start=1):
            if _is_formula(cell):
                header = cols[i - 1].header if i <= len(cols) else ""
                problems.append(_problem(cell.row, i, header, "单元格中是公式，请填写数值",
                                         "a formula: enter the value instead", cols[i - 1].key if header else "file"))
                values.append(None)
            else:
                values.append(cell.value)
        if any(_text(v) for v in values):
            rows.append((cells[0].row, values + [None] * (len(cols) - len(values))))
    if not rows and not problems:
        zh, en = "工作表中没有数据行。", "The sheet has no rows of figures."
        raise Unprocessable(zh, en, code="import_refused", details=[_problem(0, 0, "", zh, en)])

    numbers = {_text(values[0]) for _, values in rows if _text(values[0])}
    known: dict[str, Case] = {}
    if numbers:
        known = {c.number: c for c in session.exec(
            select(Case).where(case_filter(actor), Case.definition_key == "statistics_report",
                               col(Case.number).in_(numbers)))}
    last_of = _last_figures(session, {c.town_id for c in known.values() if c.town_id is not None}, year)
    seen: dict[str, int] = {}
    planned: list[tuple[Case, dict[str, Any], dict[str, str]]] = []
    for row, values in rows:
        number = _text(values[0])
        case = known.get(number)
        if not number:
            problems.append(_problem(row, 1, NUMBER_HEADER, "请填写报表编号", "the report number is empty", "number"))
            continue
        if number in seen:
            problems.append(_problem(row, 1, NUMBER_HEADER, f"报表编号 {number} 与第 {seen[number]} 行重复",
                                     f"report {number} is also on row {seen[number]}", "number"))
            continue
        seen[number] = row
        if case is None:
            problems.append(_problem(row, 1, NUMBER_HEADER, f"报表编号 {number} 不存在或不属于本县（区）",
                                     f"no report {number} of your county", "number"))
            continue
        if int(case.data.get("report_year") or 0) != year:
            problems.append(_problem(row, 1, NUMBER_HEADER,
                                     f"报表 {number} 属于 {case.data.get('report_year')} 年度，不是 {year} 年度",
                                     f"report {number} is of {case.data.get('report_year')}, not {year}", "number"))
            continue
        if case.state not in FILLABLE:
            state = {"submitted": "待审核", "accepted": "已审核通过"}.get(case.state, case.state)
            problems.append(_problem(row, 1, NUMBER_HEADER, f"报表 {number} 当前为“{state}”，不能再填报",
                                     f"report {number} is {case.state} and cannot be filled in", "number"))
            continue
        figures: dict[str, Any] = {}
        bad = False
        for i, c in enumerate(cols[2:-1], start=3):
            assert c.field is not None
            raw = values[i - 1]
            if c.field.type == "items":
                items, why = _read_items(c.field, raw)
                if why:
                    problems.append(_problem(row, i, c.header, why[0], why[1], c.key))
                    bad = True
                    continue
                raw = items
            value, problem = spec_of.read_value(c.field, raw)
            if problem:
                problems.append(_problem(row, i, c.header, problem["zh"], problem["en"], c.key))
                bad = True
            elif value is not None:
                figures[c.field.key] = value
        where = len(cols)
        text = _text(values[where - 1])
        if len(text) > 500:
            problems.append(_problem(row, where, EXPLANATION_HEADER, "情况说明不能超过 500 字",
                                     "the explanation is longer than 500 characters", "explanation"))
            bad = True
        if bad:
            continue
        last = last_of.get(case.town_id or 0)
        moved = spec_of.anomalies(spec, figures, last)
        explanations = {a.field.key: text for a in moved} if text else {}
        if submit:
            by_key = {c.key: i for i, c in enumerate(cols, start=1)}
            for reason in spec_of.missing(spec, figures):
                problems.append(_problem(row, by_key[reason["field"]], cols[by_key[reason["field"]] - 1].header,
                                         reason["zh"], reason["en"], reason["field"]))
            for reason in spec_of.unexplained(spec, figures, last, explanations):
                problems.append(_problem(row, where, EXPLANATION_HEADER, reason["zh"], reason["en"],
                                         reason["field"]))
        planned.append((case, figures, explanations))
    if problems:
        raise _refuse(problems)

    trigger = "submit_figures" if submit else "save_figures"
    done: list[Case] = []
    for case, figures, explanations in planned:
        row = seen[case.number]
        try:  # the row checked above, read for the actor (case_filter), is not read again; the versioned UPDATE
            # refuses it if it changed meanwhile
            done.append(fire(session=session, case_id=case.id, trigger=trigger, actor=actor, now=now,  # type: ignore[arg-type]  # a row read has its id
                             payload={"figures": figures, "explanations": explanations}, case=case))
        except WorkflowError as exc:  # a rule the checks above do not repeat: named on its row all the same
            reasons = exc.details if isinstance(exc.details, list) and exc.details else [{}]  # then its own words
            problems += [_problem(row, 1, NUMBER_HEADER, r.get("zh", exc.zh), r.get("en", exc.en), "number")
                         for r in reasons if isinstance(r, dict)]
    if problems:
        raise _refuse(problems)  # the caller rolls back what the rows before wrote
    digest = hashlib.sha256(data).hexdigest()
    audit.record(session, kind="statistics_imported", now=now, actor=actor, county_id=actor.unit_id,
                 data={"report_year": year, "reports": len(done), "submitted": submit, "sha256": digest,
                       "filename": filename[:200], "numbers": [c.number for c in done]})
    return Imported(done, submit, digest)

