"""The tasks of a draft action plan read in from Excel: offices draft the plan's task list (任务分解表) as a spreadsheet
and will not retype it. One row per task under the header row of the template (`COLUMNS`); every row and cell is
checked, every problem named by row and column, and nothing is written unless the whole file is right. Each row is
then added to the draft through the plan's own step (save_task), in the caller's one transaction.

The programme is named by its name or key (definitions/programmes.yaml), the lead unit by its name (a member unit),
the responsible units by their names separated by 、 (member units and counties), the report cycle 按月 or 按季度
(empty: monthly), the milestones as "YYYY-MM-DD 说明" separated by ；, and optionally (a last column that may be
left out) one of the dashboard's indicators by its name or key (definitions/targets.yaml)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.access import get_case, not_found_case
from workflow.core.actors import Actor
from workflow.core.engine import fire
from workflow.core.errors import Forbidden, Unprocessable, WorkflowError
from workflow.core.indicators import indicators
from workflow.core.models import Role, Unit, UnitKind
from workflow.programmes.catalog import programme_spec
from workflow.programmes.rules import PLAN, task_entry_reasons

SHEET = "行动计划任务"
MAX_BYTES = 10 * 1024 * 1024
MAX_UNPACKED = 100 * 1024 * 1024
MAX_ROWS = 2000
CYCLE_NAMES = {"按月": "monthly", "月": "monthly", "monthly": "monthly", "按季度": "quarterly", "季度": "quarterly",
               "quarterly": "quarterly"}
_MILESTONE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2})\s+(.+?)\s*$")


@dataclass(frozen=True)
class ImportColumn:
    header: str
    key: str
    required: bool = False


COLUMNS = (ImportColumn("所属工程", "programme", True), ImportColumn("任务名称", "title", True),
           ImportColumn("牵头单位", "lead_unit_id", True), ImportColumn("责任单位", "units", True),
           ImportColumn("目标任务", "target_text", True), ImportColumn("目标数值", "target_figure"),
           ImportColumn("报送周期", "report_cycle"), ImportColumn("节点目标", "milestones"),
           ImportColumn("关联指标", "indicator"))
OPTIONAL_LAST = 1  # a sheet may leave out this many last columns, headers and all (the indicator)
COLUMN_OF = {c.key: i for i, c in enumerate(COLUMNS, start=1)} | {"town_id": 4}


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
    """The empty task list to fill in: the header row, frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([c.header for c in COLUMNS])
    for i, c in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=i).font = Font(bold=True)
        sheet.column_dimensions[_letter(i)].width = 40 if c.key in ("title", "target_text", "milestones") else 16
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _split(text: str, *separators: str) -> list[str]:
    for sep in separators[1:]:
        text = text.replace(sep, separators[0])
    return [part.strip() for part in text.split(separators[0]) if part.strip()]


def _row_task(row: int, cell: dict[str, Any], members: dict[str, int], units: dict[str, int],
              problems: list[dict[str, Any]]) -> dict[str, Any]:
    """The task a row describes, as the plan page's form gives it; what cannot be read is added to `problems`."""
    spec = programme_spec()
    name = _text(cell["programme"])
    programme = next((p.key for p in spec.programmes if name in (p.key, p.name.zh, p.name.en)), None)
    if name and programme is None:
        problems.append(_problem(row, 1, f"没有名为“{name}”的工程", "no such programme"))
    lead_name = _text(cell["lead_unit_id"])
    lead = members.get(lead_name)
    if lead_name and lead is None:
        problems.append(_problem(row, 3, f"没有名为“{lead_name}”的成员单位", "no such member unit"))
    ids = []
    for unit_name in _split(_text(cell["units"]), "、", ",", "，", ";", "；"):
        if unit_name not in units:
            problems.append(_problem(row, 4, f"没有名为“{unit_name}”的成员单位或县（区）",
                                     f"no member unit or county named {unit_name}"))
        else:
            ids.append(units[unit_name])
    cycle_text = _text(cell["report_cycle"])
    cycle = CYCLE_NAMES.get(cycle_text) if cycle_text else "monthly"
    if cycle is None:
        problems.append(_problem(row, 7, "报送周期应为“按月”或“按季度”", "the report cycle must be 按月 or 按季度"))
    milestones = []
    for part in _split(_text(cell["milestones"]), "；", ";"):
        m = _MILESTONE.match(part)
        if m is None:
            problems.append(_problem(row, 8, f"节点目标“{part}”应写作“YYYY-MM-DD 说明”",
                                     f"milestone {part!r} must read YYYY-MM-DD followed by what is due"))
            continue
        year, month, day = (int(x) for x in m.group(1).split("-"))
        milestones.append({"due_date": f"{year:04d}-{month:02d}-{day:02d}", "title": m.group(2)})
    indicator_name = _text(cell["indicator"])
    indicator = next((k for k, i in indicators().items() if indicator_name in (k, i.label.zh, i.label.en)), None) \
        if indicator_name else None
    if indicator_name and indicator is None:
        problems.append(_problem(row, 9, f"“{indicator_name}”不是工作看板的发展目标指标",
                                 "not one of the dashboard's indicators"))
    return {"programme": programme, "title": _text(cell["title"]), "indicator": indicator, "lead_unit_id": lead,
            "units": ids,
            "target_text": _text(cell["target_text"]),
            "target_figure": _text(cell["target_figure"]),
            "report_cycle": cycle or "monthly", "milestones": milestones}


def import_plan_tasks(*, session: Session, actor: Actor, now: datetime, case_id: int, stream: IO[bytes]) -> list[int]:
    """Check the whole workbook and, only when every row is right, add each task to the draft plan `case_id` (the
    plan's save_task step, in the caller's transaction); otherwise Unprocessable naming every problem by row and
    column. The numbers of the tasks added, in the file's order."""
    if actor.role != Role.office:
        raise Forbidden("只有领导小组办公室可以导入行动计划任务。", "Only the office imports the plan's tasks.")
    plan = get_case(session, actor, case_id)
    if plan.definition_key != PLAN:
        raise not_found_case()
    if plan.state != "draft":
        raise _file_problem("计划已报送审定，不能再导入任务。", "The plan has been submitted: no task can be imported.")
    year = plan.data.get("plan_year")
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
        if not got and i > len(COLUMNS) - OPTIONAL_LAST:
            continue
        if got != c.header:
            problems.append(_problem(1, i, f"表头应为“{c.header}”，实为“{got}”" if got else f"缺少表头“{c.header}”",
                                     f"the header must be {c.header!r}, not {got!r}"))
    if problems:
        raise _refuse(problems)

    found = list(session.exec(select(Unit).where(col(Unit.kind).in_((UnitKind.member.value, UnitKind.county.value)),
                                                 col(Unit.is_active).is_(True))))
    members = {u.name: int(u.id) for u in found if u.kind == UnitKind.member.value}  # type: ignore[arg-type]  # saved
    units = {u.name: int(u.id) for u in found}  # type: ignore[arg-type]  # saved rows have ids
    conn = session.connection()
    rows: list[tuple[int, dict[str, Any]]] = []
    for cells in sheet.iter_rows(min_row=2):
        values = [c.value for c in cells][:len(COLUMNS)]
        values += [None] * (len(COLUMNS) - len(values))
        if not any(_text(v) for v in values):
            continue
        row = cells[0].row
        before = len(problems)
        for i, cell in enumerate(cells[:len(COLUMNS)], start=1):
            if cell.data_type == "f":
                problems.append(_problem(row, i, "单元格中是公式，请填写内容", "a formula: enter the value instead"))
        cell = dict(zip((c.key for c in COLUMNS), values, strict=True))
        for i, c in enumerate(COLUMNS, start=1):
            if c.required and not _text(cell[c.key]):
                problems.append(_problem(row, i, f"请填写{c.header}", f"{c.header} is empty"))
        read = len(problems)
        task = _row_task(row, cell, members, units, problems)
        if len(problems) > read or len(problems) > before:
            continue
        _, reasons = task_entry_reasons(conn, task, year)
        problems += [_problem(row, COLUMN_OF.get(str(r.get("field")), 0), str(r["zh"]), str(r["en"]))
                     for r in reasons]
        if not reasons:
            rows.append((row, task))
    if not rows and not problems:
        raise _file_problem("工作表中没有数据行。", "The sheet has no rows.")
    if problems:
        raise _refuse(problems)

    numbers: list[int] = []
    for row, task in rows:
        try:
            plan = fire(session=session, case_id=case_id, trigger="save_task", actor=actor, now=now,
                        payload={"task": task})
        except WorkflowError as exc:
            reasons = exc.details or [{"zh": exc.zh, "en": exc.en}]
            problems += [_problem(row, COLUMN_OF.get(str(d.get("field")), 0), str(d.get("zh")), str(d.get("en")))
                         for d in reasons]
            continue
        numbers.append(max(t["no"] for t in plan.data["tasks"]))
    if problems:
        raise _refuse(problems)  # the caller's transaction rolls back every task already added
    audit.record(session, kind="plan_tasks_imported", now=now, actor=actor, case_id=case_id,
                 data={"rows": len(numbers), "task_nos": numbers})
    return numbers
