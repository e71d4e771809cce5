"""An existing project list imported from Excel: the library's template (one row per project, the headers below,
its notes on a second sheet), filled and uploaded by a county (its own projects) or the office (any county's).
Every row and cell is checked first, with the rules of the process; every problem is named by row and column;
nothing is written unless the whole file is right, and then each project is created through `create_case` and
taken through its stages with their dates through `fire`, in the caller's one transaction (all or nothing, as
the statistics import is: workflow/statistics/excel.py).

The workbook (sheet 项目清单, headers on row 1, one project a row from row 2): 项目名称, 建设（投资）主体, 县（区）
(the office's files; a county's rows are its own), 专业镇 (a key project's town; optional for an investment
project), 计划总投资（万元）, then for key projects 累计完成投资（万元）; 阶段 (a stage's Chinese name; empty: the
first), the date of every stage up to the one given (YYYY-MM-DD, or an Excel date), an investment project's
终止原因, and 已获支持.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from sqlmodel import Session, col, select

from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.engine import fire
from workflow.core.errors import Forbidden, Unprocessable, WorkflowError
from workflow.core.models import Case, Role, Town, Unit, UnitKind
from workflow.core.reasons import parse_date
from workflow.projects import KEY
from workflow.projects.ledger import check_library, create_project
from workflow.projects.rules import MAX_AMOUNT, MAX_NAME, MAX_TEXT

SHEET = "项目清单"
NOTES_SHEET = "说明"
MAX_BYTES = 10 * 1024 * 1024
MAX_UNPACKED = 100 * 1024 * 1024
MAX_ROWS = 2000
CHUNK = 64 * 1024

# Each library's stages in order: (state, its Chinese name, the trigger that enters it, the date it keeps).
PATHS: dict[str, tuple[tuple[str, str, str | None, str | None], ...]] = {
    "key_project": (("reserve", "储备", None, None), ("signed", "签约", "sign", "signed_date"),
                    ("started", "开工", "start", "started_date"), ("producing", "投产", "produce", "producing_date"),
                    ("effective", "达效", "reach_output", "effective_date")),
    "investment_project": (("negotiating", "洽谈", None, None), ("signed", "签约", "sign", "signed_date"),
                           ("landed", "落地", "land", "landed_date")),
}
TERMINATED = ("terminated", "终止", "terminate", "terminated_date")


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False


def columns(key: str, actor: Actor) -> list[Column]:
    """The template's columns for the library, as the actor fills them (the office names each row's county)."""
    found = [Column("项目名称", "project_name", True), Column("建设（投资）主体", "enterprise")]
    if actor.role != Role.county:
        found.append(Column("县（区）", "county", True))
    found.append(Column("专业镇", "town", key == KEY))
    found.append(Column("计划总投资（万元）", "investment_planned", True))
    if key == KEY:
        found.append(Column("累计完成投资（万元）", "investment_completed"))
    found.append(Column("阶段", "stage"))
    for _, name, _, date_key in (*PATHS[key], *((TERMINATED,) if key != KEY else ())):
        if date_key:
            found.append(Column(f"{name}日期", date_key))
    if key != KEY:
        found.append(Column("终止原因", "termination_reason"))
    found.append(Column("已获支持", "support"))
    return found


def letter(index: int) -> str:
    """The column letter of a 1-based column index (1 → A, 27 → AA)."""
    name = ""
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _may_import(actor: Actor) -> None:
    if actor.role not in (Role.county, Role.office):
        raise Forbidden("您的角色不能导入项目。", "Your role may not import projects.", code="role_not_allowed")


def template(key: str, actor: Actor) -> bytes:
    """The empty workbook to fill: the headers, one example row to overwrite, and the notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    check_library(key)
    _may_import(actor)
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    cols = columns(key, actor)
    sheet.append([c.header for c in cols])
    for i, c in enumerate(cols, start=1):
        sheet.cell(row=1, column=i).font = Font(bold=True)
        sheet.column_dimensions[letter(i)].width = 24 if c.key in ("project_name", "support") else 14
    notes = book.create_sheet(NOTES_SHEET)
    stages_text = "、".join(name for _, name, _, _ in PATHS[key]) + ("" if key == KEY else "、终止")
    for line in (
        f"每行一个项目，从第 2 行起填写；表头不要修改。带“*”说明的为必填：项目名称、计划总投资"
        f"{'、专业镇' if key == KEY else ''}{'、县（区）' if actor.role != Role.county else ''}。",
        f"阶段填写：{stages_text}（空为{PATHS[key][0][1]}）；填写了某一阶段，须填写该阶段及之前各阶段的日期（YYYY-MM-DD）。",
        "金额单位为万元，填数字；日期不能晚于导入当天，后一阶段的日期不能早于前一阶段。",
        "整个文件检查无误才会导入；有任何错误时不写入任何数据，并按行、列列出问题。",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _problem(row: int, column: int, header: str, zh: str, en: str, field: str = "file") -> dict[str, Any]:
    where = letter(column) if column else ""
    at_zh = (f"第 {row} 行" if row else "") + (f" {where} 列" if where else "") + (f"（{header}）" if header else "")
    at_en = ", ".join(x for x in (f"row {row}" if row else "", f"column {where}" if where else "") if x)
    return {"row": row or None, "column": where or None, "header": header or None, "field": field,
            "problem": {"zh": zh, "en": en},
            "zh": f"{at_zh.strip()}：{zh}" if at_zh else zh, "en": f"{at_en}: {en}" if at_en else en}


def _refuse(problems: list[dict[str, Any]]) -> Unprocessable:
    return Unprocessable(f"文件未导入：发现 {len(problems)} 处问题，未写入任何数据。",
                         f"Nothing imported: {len(problems)} problems found; nothing was written.",
                         code="import_refused", details=problems)


def _file_problem(zh: str, en: str, code: str = "import_refused") -> Unprocessable:
    return Unprocessable(zh, en, code=code, details=[{"field": "file", "zh": zh, "en": en}])


def _read_limited(stream: IO[bytes]) -> bytes:
    chunks, size = [], 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            raise _file_problem(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，不能导入。",
                                f"The file is larger than {MAX_BYTES // 1024 // 1024} MB and cannot be imported.")
        chunks.append(chunk)
    return b"".join(chunks)


def _open(data: bytes) -> Any:
    from openpyxl import load_workbook

    bad = ("文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后上传。",
           "The file is not an Excel workbook (.xlsx): fill in the downloaded template and upload it.")
    if not data:
        raise _file_problem("请选择要上传的 Excel 文件。", "Choose the Excel file to upload.", "no_file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _file_problem(*bad, "not_a_workbook") from None
    if "xl/workbook.xml" not in names:
        raise _file_problem(*bad, "not_a_workbook")
    if unpacked > MAX_UNPACKED:
        raise _file_problem("工作簿解压后过大，不能导入。", "The workbook unpacks to too much data to import.")
    try:
        return load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
    except Exception:  # openpyxl raises what the broken part gives: KeyError, XML errors, TypeError, ...
        raise _file_problem(*bad, "not_a_workbook") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


@dataclass
class _Row:
    number: int
    town_id: int | None
    county_id: int | None
    data: dict[str, Any]
    moves: list[tuple[str, dict[str, Any]]]


def import_projects(session: Session, actor: Actor, key: str, stream: IO[bytes], *, now: datetime) -> list[Case]:
    """Check the whole workbook and, only when every row is right, create every project (and take it through
    its stages) in the caller's transaction; otherwise Unprocessable whose details name every problem."""
    check_library(key)
    _may_import(actor)
    book = _open(_read_limited(stream))
    if SHEET not in book.sheetnames:
        raise _file_problem(f"工作簿中没有工作表“{SHEET}”，请使用下载的模板填写。",
                            f"The workbook has no sheet named {SHEET}: fill in the downloaded template.",
                            "wrong_sheet")
    sheet = book[SHEET]
    cols = columns(key, actor)
    problems: list[dict[str, Any]] = []
    if sheet.max_row - 1 > MAX_ROWS:
        raise _refuse([_problem(0, 0, "", f"工作表超过 {MAX_ROWS} 行", f"the sheet has more than {MAX_ROWS} rows")])
    headers = [_text(c.value) for c in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    for i, c in enumerate(cols, start=1):
        got = headers[i - 1] if i <= len(headers) else ""
        if got != c.header:
            problems.append(_problem(1, i, c.header, f"表头应为“{c.header}”，实为“{got}”" if got else
                                     f"缺少表头“{c.header}”", f"the header must be {c.header!r}, not {got!r}"))
    if problems:
        raise _refuse(problems)

    counties = {name: i for name, i in session.exec(select(Unit.name, Unit.id).where(
        col(Unit.kind) == UnitKind.county.value)).all() if i is not None}
    towns: dict[tuple[int, str], int] = {(t.county_id, t.name): t.id for t in session.exec(select(Town)).all()}  # type: ignore[misc]  # saved rows have ids
    today = local_date(now)
    rows: list[_Row] = []
    for cells in sheet.iter_rows(min_row=2):
        values = {c.key: cells[i].value if i < len(cells) else None for i, c in enumerate(cols)}
        if any(cells[i].data_type == "f" for i in range(min(len(cells), len(cols)))):
            problems.append(_problem(cells[0].row, 0, "", "行中有公式，请填写数值", "a formula: enter the value"))
            continue
        if not any(_text(v) for v in values.values()):
            continue
        row = _read_row(cells[0].row, key, actor, cols, values, counties, towns, today, problems)
        if row is not None:
            rows.append(row)
    if not rows and not problems:
        raise _refuse([_problem(0, 0, "", "工作表中没有项目行。", "The sheet has no projects.")])
    if problems:
        raise _refuse(problems)
    created = []
    for row in rows:
        try:
            case = create_project(session=session, key=key, actor=actor, now=now, town_id=row.town_id,
                                  county_id=row.county_id, data=row.data)
            for trigger, payload in row.moves:
                fire(session=session, case_id=case.id, trigger=trigger, actor=actor, now=now,  # type: ignore[arg-type]  # saved: it has its id
                     payload=payload, comment="批量导入")
        except WorkflowError as exc:  # a rule the checks above did not foresee: the whole file is refused
            raise _refuse([_problem(row.number, 0, "", exc.zh, exc.en)]) from None
        created.append(case)
    return created


def _read_row(number: int, key: str, actor: Actor, cols: list[Column], values: dict[str, Any],
              counties: dict[str, int], towns: dict[tuple[int, str], int], today: date,
              problems: list[dict[str, Any]]) -> _Row | None:
    where = {c.key: (i, c.header) for i, c in enumerate(cols, start=1)}
    before = len(problems)

    def bad(field: str, zh: str, en: str) -> None:
        problems.append(_problem(number, where[field][0], where[field][1], zh, en, field))

    for c in cols:
        if c.required and not _text(values[c.key]):
            bad(c.key, f"请填写{c.header}", f"{c.header} is required")
    data: dict[str, Any] = {}
    for field, top in (("project_name", MAX_NAME), ("enterprise", MAX_NAME), ("support", MAX_TEXT)):
        text = _text(values.get(field))
        if len(text) > top:
            bad(field, f"不能超过 {top} 字", f"longer than {top} characters")
        elif text:
            data[field] = text
    for field in ("investment_planned", "investment_completed"):
        raw = values.get(field)
        if field not in where or _text(raw) == "":
            continue
        try:
            amount = float(_text(raw).replace(",", ""))
        except ValueError:
            amount = -1.0
        if not 0 <= amount <= MAX_AMOUNT:
            bad(field, "金额应为不小于 0 的数（万元）", "the amount must be a number from 0 (10,000 yuan)")
        else:
            data[field] = int(amount) if amount.is_integer() else round(amount, 2)
    county_id = actor.unit_id if actor.role == Role.county else None
    if "county" in where and _text(values["county"]):
        county_id = counties.get(_text(values["county"]))
        if county_id is None:
            bad("county", f"没有县（区）“{_text(values['county'])}”", "no such county")
    town_id = None
    if _text(values["town"]) and county_id is not None:
        town_id = towns.get((county_id, _text(values["town"])))
        if town_id is None:
            bad("town", f"本县（区）没有专业镇“{_text(values['town'])}”", "no such town in the county")
    path = list(PATHS[key])
    stage = _text(values.get("stage"))
    names = [name for _, name, _, _ in path] + ([] if key == KEY else [TERMINATED[1]])
    if stage and stage not in names:
        bad("stage", f"阶段应为{'、'.join(names)}之一", "unknown stage")
        return None
    if stage == TERMINATED[1]:
        reached = [p for p in path if p[2] == "sign" and _text(values.get("signed_date"))] + [TERMINATED]
    else:
        reached = path[1:names.index(stage) + 1] if stage else []
    moves = []
    last: date | None = None
    for _, name, trigger, date_key in reached:
        assert trigger and date_key
        raw = values.get(date_key)
        day = raw.date() if isinstance(raw, datetime) else raw if isinstance(raw, date) else parse_date(_text(raw))
        if day is None:
            bad(date_key, f"阶段为“{stage}”，请填写{name}日期（YYYY-MM-DD）", f"the date of {name} is required")
            continue
        if day > today:
            bad(date_key, "日期不能晚于今天", "the date cannot be in the future")
        elif last and day < last:
            bad(date_key, "日期不能早于上一阶段的日期", "the date cannot be before the previous stage's")
        last = day
        payload: dict[str, Any] = {date_key: day.isoformat()}
        if trigger == "terminate":
            reason = _text(values.get("termination_reason"))
            if not reason:
                bad("termination_reason", "终止的项目请填写终止原因", "the reason for terminating is required")
            payload["termination_reason"] = reason[:MAX_TEXT]
        moves.append((trigger, payload))
    if len(problems) > before:
        return None
    return _Row(number, town_id, county_id, data, moves)


def library_label(key: str) -> str:
    return CATALOG.current(check_library(key)).label.zh
