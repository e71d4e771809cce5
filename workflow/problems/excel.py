"""An existing problem ledger read in from Excel: offices keep their 问题台账 as spreadsheets, and will not retype
them. One row per problem under the header row of the template (`COLUMNS`); every row and cell is checked, every
problem named by row and column, and nothing is written unless the whole file is right. Each row is then logged
(and, when it names a responsible unit, assigned) through the same services as the pages, in the caller's one
transaction; a refusal of any row there names the row too, and the transaction is rolled back.

The county is named by its name, the town by its name within the county (empty for a problem with no town), the
category by its label or key (definitions/problem_categories.yaml), the origin 走访调研发现 or 企业反映 (empty: field
work), the responsible unit by its name (a member unit, or the problem's county), the deadline as a date."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.errors import Forbidden, Unprocessable, WorkflowError
from workflow.core.models import Role, Town, Unit, UnitKind
from workflow.problems.categories import by_label as category_of
from workflow.problems.ledger import assign, log_problem
from workflow.problems.rules import ORIGINS

SHEET = "问题台账"
MAX_BYTES = 10 * 1024 * 1024
MAX_UNPACKED = 100 * 1024 * 1024
MAX_ROWS = 5000


@dataclass(frozen=True)
class ImportColumn:
    header: str
    key: str
    required: bool = False


COLUMNS = (ImportColumn("县（区）", "county", True), ImportColumn("专业镇", "town"),
           ImportColumn("问题类别", "category", True), ImportColumn("问题描述", "description", True),
           ImportColumn("问题来源", "origin"), ImportColumn("反映人", "raised_by"),
           ImportColumn("企业名称", "enterprise_name"), ImportColumn("责任单位", "unit"),
           ImportColumn("办理期限", "due_date"))


def _letter(index: int) -> str:
    name = ""
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _problem(row: int, column: int, zh: str, en: str) -> dict[str, Any]:
    """One problem of the file, where it is (row, column letter and header) and what it is."""
    header = COLUMNS[column - 1].header if 0 < column <= len(COLUMNS) else ""
    where = _letter(column) if column else ""
    at_zh = (f"第 {row} 行" if row else "") + (f" {where} 列" if where else "") + (f"（{header}）" if header else "")
    at_en = ", ".join(x for x in (f"row {row}" if row else "", f"column {where}" if where else "") if x)
    return {"row": row or None, "column": where or None, "header": header or None, "field": "file",
            "zh": f"{at_zh.strip()}：{zh}" if at_zh else zh, "en": f"{at_en}: {en}" if at_en else en}


def _refuse(problems: list[dict[str, Any]]) -> Unprocessable:
    return Unprocessable(f"文件未导入：发现 {len(problems)} 处问题，未写入任何数据。",
                         f"Nothing imported: {len(problems)} problems found; nothing was written.",
                         code="import_refused", details=problems)


def _file_problem(zh: str, en: str) -> Unprocessable:
    return Unprocessable(zh, en, code="import_refused", details=[{"field": "file", "zh": zh, "en": en}])


def _open(stream: IO[bytes]) -> Any:
    from openpyxl import load_workbook

    data = stream.read(MAX_BYTES + 1)
    if not data:
        raise _file_problem("请选择要导入的 Excel 文件（.xlsx）。", "Choose the Excel file (.xlsx) to import.")
    if len(data) > MAX_BYTES:
        raise _file_problem(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，不能导入。",
                            f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
    bad = ("文件不是 Excel 工作簿（.xlsx），请使用模板填写后上传。",
           "The file is not an Excel workbook (.xlsx): fill in the template and upload it.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _file_problem(*bad) from None
    if "xl/workbook.xml" not in names or unpacked > MAX_UNPACKED:
        raise _file_problem(*bad)
    try:
        return load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
    except Exception:  # openpyxl raises what the broken part gives: KeyError, XML errors, TypeError, ...
        raise _file_problem(*bad) from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def template_bytes() -> bytes:
    """The empty ledger to fill in: the header row, frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([c.header for c in COLUMNS])
    for i, c in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=i).font = Font(bold=True)
        sheet.column_dimensions[_letter(i)].width = 40 if c.key == "description" else 14
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class _Row:
    row: int
    county_id: int
    town_id: int | None
    data: dict[str, Any]
    unit_id: int | None
    due_date: str | None


def import_ledger(*, session: Session, actor: Actor, now: datetime, stream: IO[bytes]) -> list[Any]:
    """Check the whole workbook and, only when every row is right, log each problem (and assign it when a unit is
    named) in the caller's transaction; otherwise Unprocessable naming every problem by row and column."""
    if actor.role != Role.office:
        raise Forbidden("只有领导小组办公室可以导入问题台账。", "Only the office imports a problem ledger.")
    book = _open(stream)
    if SHEET not in book.sheetnames:
        raise _file_problem(f"工作簿中没有工作表“{SHEET}”，请使用模板填写。",
                            f"The workbook has no sheet named {SHEET}: fill in the template.")
    sheet = book[SHEET]
    if sheet.max_row - 1 > MAX_ROWS:
        raise _file_problem(f"工作表超过 {MAX_ROWS} 行。", f"The sheet has more than {MAX_ROWS} rows.")
    problems: list[dict[str, Any]] = []
    headers = [_text(c.value) for c in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    for i, c in enumerate(COLUMNS, start=1):
        got = headers[i - 1] if i <= len(headers) else ""
        if got != c.header:
            problems.append(_problem(1, i, f"表头应为“{c.header}”，实为“{got}”" if got else f"缺少表头“{c.header}”",
                                     f"the header must be {c.header!r}, not {got!r}"))
    if problems:
        raise _refuse(problems)

    counties = {u.name: u for u in session.exec(select(Unit).where(Unit.kind == UnitKind.county.value))}
    units = {u.name: u for u in session.exec(select(Unit).where(col(Unit.kind).in_(("member", "county")),
                                                                col(Unit.is_active).is_(True)))}
    towns: dict[tuple[Any, str], Town] = {(t.county_id, t.name): t for t in session.exec(select(Town))}
    rows: list[_Row] = []
    for cells in sheet.iter_rows(min_row=2):
        values = [c.value for c in cells][:len(COLUMNS)]
        values += [None] * (len(COLUMNS) - len(values))
        if not any(_text(v) for v in values):
            continue
        row = cells[0].row
        found = len(problems)
        for i, cell in enumerate(cells[:len(COLUMNS)], start=1):
            if cell.data_type == "f":
                problems.append(_problem(row, i, "单元格中是公式，请填写内容", "a formula: enter the value instead"))
        cell = dict(zip((c.key for c in COLUMNS), values, strict=True))
        for i, c in enumerate(COLUMNS, start=1):
            if c.required and not _text(cell[c.key]):
                problems.append(_problem(row, i, f"请填写{c.header}", f"{c.header} is empty"))
        county = counties.get(_text(cell["county"]))
        if _text(cell["county"]) and county is None:
            problems.append(_problem(row, 1, f"没有名为“{_text(cell['county'])}”的县（区）", "no such county"))
        town = None
        if county is not None and _text(cell["town"]):
            town = towns.get((county.id, _text(cell["town"])))
            if town is None:
                problems.append(_problem(row, 2, f"{county.name}没有名为“{_text(cell['town'])}”的专业镇",
                                         "no such town in the county"))
        category = category_of(_text(cell["category"])) if _text(cell["category"]) else None
        if _text(cell["category"]) and category is None:
            problems.append(_problem(row, 3, f"问题类别“{_text(cell['category'])}”不在类别表中",
                                     "not a category of the list"))
        origin = next((k for k, (zh, en) in ORIGINS.items() if _text(cell["origin"]) in (k, zh, en)), None) \
            if _text(cell["origin"]) else "field_work"
        if origin is None:
            problems.append(_problem(row, 5, "问题来源应为“走访调研发现”或“企业反映”",
                                     "the origin must be 走访调研发现 or 企业反映"))
        unit = units.get(_text(cell["unit"])) if _text(cell["unit"]) else None
        if _text(cell["unit"]) and unit is None:
            problems.append(_problem(row, 8, f"没有名为“{_text(cell['unit'])}”的成员单位或县（区）",
                                     "no such member unit or county"))
        due = cell["due_date"]
        due_text = due.date().isoformat() if isinstance(due, datetime) else due.isoformat() \
            if isinstance(due, date) else _text(due) or None
        if due_text and unit is None:
            problems.append(_problem(row, 9, "填写办理期限时须同时填写责任单位", "a deadline needs a responsible unit"))
        if len(problems) > found or county is None or category is None:
            continue
        data = {"category": category.key, "description": _text(cell["description"]), "origin": origin}
        for key in ("raised_by", "enterprise_name"):
            if _text(cell[key]):
                data[key] = _text(cell[key])
        rows.append(_Row(row, int(county.id), town.id if town else None, data,  # type: ignore[arg-type]  # saved rows
                         unit.id if unit else None, due_text))
    if not rows and not problems:
        raise _file_problem("工作表中没有数据行。", "The sheet has no rows.")
    if problems:
        raise _refuse(problems)

    cases = []
    for r in rows:
        try:
            case = log_problem(session=session, actor=actor, now=now, data=r.data, town_id=r.town_id,
                               county_id=None if r.town_id else r.county_id)
            if r.unit_id is not None:
                assert case.id is not None
                case = assign(session=session, actor=actor, now=now, case_id=case.id, responsible_unit_id=r.unit_id,
                              due_date=r.due_date)
        except WorkflowError as exc:
            reasons = exc.details or [{"zh": exc.zh, "en": exc.en}]
            problems += [_problem(r.row, 0, str(d.get("zh")), str(d.get("en"))) for d in reasons]
            continue
        cases.append(case)
    if problems:
        raise _refuse(problems)  # the caller's transaction rolls back every row already written
    audit.record(session, kind="problems_imported", now=now, actor=actor,
                 data={"rows": len(cases), "numbers": [c.number for c in cases]})
    return cases
