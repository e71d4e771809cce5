"""How fast a list goes out as Excel, and in how much memory: 100,000 rows of the case list's columns written by
`workflow.core.exports.write_xlsx` (openpyxl write-only: rows streamed from an iterator to the sheet's temporary
file), next to openpyxl's normal mode writing the same cells (every cell kept in memory until the book is saved),
in the same run.

    .venv/bin/python bench/bench_export.py [--rows 100000]

Each side runs twice: once for the time (without tracemalloc, which slows Python down), once for the peak memory
Python allocated (tracemalloc). The rows are made on the fly from a generator (as the database hands them over),
so neither side is charged for holding the input. Both files are written to a temporary directory and their sizes
printed. Exit status 0; the figures are for reading, not a gate (the exporter caps a file at EXPORT_LIMIT rows).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from workflow import processes
from workflow.core.catalog import CATALOG
from workflow.core.exports import DATE_FORMAT, MOMENT_FORMAT, excel_value, write_xlsx
from workflow.core.queries import DeadlineBadge
from workflow.core.yamlcheck import Label

processes.load()

from workflow.core.list_exports import CASES  # noqa: E402 - after the processes are loaded

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "高新区"]
RECTIFICATION = CATALOG.current("rectification").version  # the definition as it is now
STATES = ["issued", "rectifying", "extension_requested", "under_verification", "overdue"]


def rows(n: int) -> Iterator[SimpleNamespace]:
    for i in range(n):
        case = SimpleNamespace(number=f"ZG-2026-{i + 1:06d}", title=f"限期整改通知 · 测试镇{i % 900}",
                               definition_key="rectification", definition_version=RECTIFICATION,
                               state=STATES[i % len(STATES)],
                               updated_at=NOW - timedelta(minutes=i))
        due = date(2026, 12, 1) + timedelta(days=i % 60)
        yield SimpleNamespace(case=case, county=COUNTIES[i % 6], town=f"测试镇{i % 900}",
                              badge=DeadlineBadge(due.isoformat(), (i % 60) - 10, i % 7 == 0))


def streamed(n: int, path: Path) -> None:
    with path.open("wb") as out:
        write_xlsx(out, CASES, rows(n), total=n, now=NOW, lang="zh")


def normal_mode(n: int, path: Path) -> None:
    """openpyxl's ordinary workbook: the same title rows, header, widths, formats and values, every cell in memory."""
    book = Workbook()
    sheet = book.active
    sheet.title = CASES.title.zh
    for text in (CASES.title.zh, "筛选条件：无（您可见的全部）", "导出时间：2026-11-27 10:00:00（北京时间）",
                 f"共 {n:,} 条"):
        sheet.append([text])
    sheet.append([c.zh for c in CASES.columns])
    bold = Font(bold=True)
    for cell in sheet[5]:
        cell.font = bold
    for index, column in enumerate(CASES.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A6"
    formats = [c.format("zh") for c in CASES.columns]
    for number, row in enumerate(rows(n), start=6):
        values = []
        for column in CASES.columns:
            raw = column.value(row)
            values.append(excel_value(raw.get("zh") if isinstance(raw, Label) else raw))
        sheet.append(values)
        for index, (fmt, raw) in enumerate(zip(formats, values, strict=True), start=1):
            cell = sheet.cell(row=number, column=index)
            if fmt:
                cell.number_format = fmt
            elif isinstance(raw, datetime):
                cell.number_format = MOMENT_FORMAT
            elif isinstance(raw, date):
                cell.number_format = DATE_FORMAT
    book.save(path)


def measure(fn: Callable[[int, Path], None], n: int, path: Path) -> tuple[float, int, int]:
    started = time.perf_counter()
    fn(n, path)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    fn(n, path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    n = args.rows
    print(f"Exporting {n:,} rows of the case list's {len(CASES.columns)} columns")
    with tempfile.TemporaryDirectory() as folder:
        results = {}
        for name, fn in (("write-only (workflow.core.exports)", streamed), ("openpyxl normal mode", normal_mode)):
            seconds, peak, size = measure(fn, n, Path(folder) / f"{fn.__name__}.xlsx")
            results[name] = (seconds, peak)
            print(f"  {name:36} {seconds:6.1f} s  {n / seconds:8,.0f} rows/s  peak {peak / 2**20:7.1f} MiB  "
                  f"file {size / 2**20:5.1f} MiB")
    (s_time, s_peak), (b_time, b_peak) = results.values()
    print(f"  write-only against normal mode: {s_time / b_time:.2f}× the time, {s_peak / b_peak:.3f}× the memory")


if __name__ == "__main__":
    main()
