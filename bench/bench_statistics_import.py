"""Importing a 1,000-row statistics workbook (target: under 10 s, all or nothing).

A county with 1,000 towns, each with its report of 2026 open and an accepted report of 2025 (so every row is
compared with last year, as in real use). The county's workbook is made by `workflow.statistics.excel.template`
and filled in with openpyxl (figures within 30 % of last year's; every tenth town's output up 50 % with its
情况说明). Then, on copies of the same database:

- **all rows good**: `import_workbook(..., submit=True)` in one transaction, as the pages and the API call it —
  read, every check, 1,000 `submit_figures` fires with their audit events, deadlines and notifications, and the
  commit; the time is from the file's bytes to the commit;
- **one bad cell in the last row**: the same file with the last row's 从业人员 `5200.5`; refused, and the script
  checks that not one report changed;
- **the baseline**: openpyxl merely loading the same workbook (`load_workbook(data_only=False)`) and reading
  every cell — what any import of this file costs before it checks or writes anything.

The sides alternate over `--rounds`, each on a fresh copy of the database; the median and the worst are printed.

    .venv/bin/python bench/bench_statistics_import.py [--towns 1000] [--rounds 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import load_workbook
from sqlmodel import col, select

from workflow import processes
from workflow.accounts.auth import create_user
from workflow.core.actors import Actor
from workflow.core.db import make_engine, make_session_factory, migrate, transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Case, Unit
from workflow.statistics import excel
from workflow.statistics.campaign import open_reports
from workflow.statistics.fields import statistics_spec
from workflow.towns.services import create_town

processes.load()

TARGET_S = 10.0
LAST_YEAR = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
NOW = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)  # Tuesday 12 January 2027, 10:00 in Yangquan
FIGURES = {"output_yi": 12.5, "tax_wan": 3200, "market_entities": 860, "above_scale_firms": 14, "employees": 5200,
           "high_tech_firms": 3, "specialised_firms": 2, "invention_patents": 11, "geographical_indications": 1,
           "service_platforms": 2, "key_projects": 4, "project_investment_yi": 6.8,
           "brands": [{"name": "盂县石材", "level": "provincial"}],
           "standards": [{"name": "建筑用石材加工规范", "kind": "group", "role": "lead"}]}


def setup(path: Path, towns: int) -> tuple[Actor, list[int]]:
    """The database: one county, `towns` towns, each with 2025 accepted and 2026 open; the 2026 report ids."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    db = make_session_factory(engine)
    with transaction(db) as s:
        county = Unit(name="盂县", kind="county", created_at=LAST_YEAR)
        office = Unit(name="市工信局", kind="office", created_at=LAST_YEAR)
        s.add_all([county, office])
        s.flush()
        clerk = create_user(s, username="county1", display_name="盂县经办人", role="county", unit_id=county.id,
                            password="Bench-pass-2026", now=LAST_YEAR)
        head = create_user(s, username="office1", display_name="市工信局经办人", role="office", unit_id=office.id,
                           password="Bench-pass-2026", now=LAST_YEAR)
        actors = Actor.of(clerk, county), Actor.of(head, office)
        for i in range(towns):
            create_town(session=s, actor=Actor.system(), name=f"测试镇{i:04d}", county_id=county.id, now=LAST_YEAR)
        earlier = open_reports(session=s, actor=actors[1], now=LAST_YEAR, year=2025)
        for case in earlier:
            fire(session=s, case_id=case.id or 0, trigger="submit_figures", actor=actors[0], now=LAST_YEAR,
                 payload={"figures": FIGURES})
            fire(session=s, case_id=case.id or 0, trigger="accept_figures", actor=actors[1], now=LAST_YEAR)
    with transaction(db) as s:
        ids = [c.id or 0 for c in open_reports(session=s, actor=actors[1], now=NOW, year=2026)]
    engine.dispose()
    return actors[0], ids


def workbooks(path: Path, county: Actor) -> tuple[bytes, bytes]:
    """The county's template filled in; the same with one bad cell in its last row."""
    engine = make_engine(f"sqlite:///{path}")
    with transaction(make_session_factory(engine)) as s:
        content = excel.template(s, county, 2026)
    engine.dispose()
    book = load_workbook(io.BytesIO(content))
    sheet = book[excel.SHEET]
    where = {c.key: i for i, c in enumerate(excel.columns(statistics_spec()), start=1)}
    for n, row in enumerate(range(2, sheet.max_row + 1)):
        values = {**FIGURES, "employees": 5300 + n % 100, "output_yi": 18.75 if n % 10 == 0 else 13.1}
        for key, value in values.items():
            if key in ("brands", "standards"):
                continue
            sheet.cell(row=row, column=where[key], value=value)
        sheet.cell(row=row, column=where["brands"], value="盂县石材|省级;娘子关|市级")
        if n % 10 == 0:
            sheet.cell(row=row, column=where["explanation"], value="新增两家龙头企业投产")
    good = io.BytesIO()
    book.save(good)
    sheet.cell(row=sheet.max_row, column=where["employees"], value=5200.5)
    bad = io.BytesIO()
    book.save(bad)
    return good.getvalue(), bad.getvalue()


def run_import(path: Path, county: Actor, data: bytes) -> tuple[float, str]:
    engine = make_engine(f"sqlite:///{path}")
    db = make_session_factory(engine)
    start = time.perf_counter()
    try:
        with transaction(db) as s:
            done = excel.import_workbook(s, county, 2026, io.BytesIO(data), submit=True, now=NOW)
        outcome = f"{len(done.reports)} submitted"
    except Unprocessable as exc:
        outcome = f"refused: {exc.details[0]['zh']}"
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed, outcome


def states(path: Path, ids: list[int]) -> dict[str, int]:
    engine = make_engine(f"sqlite:///{path}")
    with transaction(make_session_factory(engine)) as s:
        found: dict[str, int] = {}
        for state in s.exec(select(Case.state).where(col(Case.id).in_(ids))):
            found[state] = found.get(state, 0) + 1
    engine.dispose()
    return found


def baseline(data: bytes) -> float:
    start = time.perf_counter()
    book = load_workbook(io.BytesIO(data), data_only=False)
    for _row in book[excel.SHEET].iter_rows(values_only=True):
        pass
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="keep the database files there")
    args = parser.parse_args()
    where = args.dir or Path(tempfile.mkdtemp(prefix="bench-statistics-"))
    where.mkdir(parents=True, exist_ok=True)
    seed = where / "seed.db"
    seed.unlink(missing_ok=True)
    start = time.perf_counter()
    county, ids = setup(seed, args.towns)
    good, bad = workbooks(seed, county)
    print(f"{args.towns} towns, each with 2025 accepted and 2026 open (set up in {time.perf_counter() - start:.1f} s); "
          f"workbook {len(good) / 1024:.0f} KB, {args.towns} rows × {len(excel.columns(statistics_spec()))} columns")
    times: dict[str, list[float]] = {"import": [], "refused": [], "openpyxl": []}
    failures = []
    for n in range(args.rounds):
        for side, data in (("import", good), ("refused", bad)):
            copy = where / f"round-{n}-{side}.db"
            shutil.copy(seed, copy)
            elapsed, outcome = run_import(copy, county, data)
            times[side].append(elapsed)
            after = states(copy, ids)
            expected = {"submitted": len(ids)} if side == "import" else {"filling": len(ids)}
            if after != expected:
                failures.append(f"{side}: {after}, expected {expected}")
            print(f"round {n + 1} {side:<8} {elapsed:6.2f} s  {outcome}; reports {after}")
            copy.unlink()
        times["openpyxl"].append(baseline(good))
    print(f"\n{'':<34}{'median (s)':>11}{'worst (s)':>11}")
    for side, label in (("import", "import, all rows good (submit)"), ("refused", "import, last row bad (refused)"),
                        ("openpyxl", "openpyxl reading the workbook")):
        print(f"{label:<34}{statistics.median(times[side]):>11.2f}{max(times[side]):>11.2f}")
    worst = max(times["import"] + times["refused"])
    print(f"worst import {worst:.2f} s against the target of {TARGET_S:.0f} s: "
          f"{'met' if worst < TARGET_S else 'MISSED'}; all or nothing: {failures or 'held'}")
    if not args.dir:
        shutil.rmtree(where)
    return 0 if worst < TARGET_S and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
