"""What the benchmarks share: a fresh, migrated database, and what the disk allows."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from workflow.core.db import make_engine, migrate


def empty_schema(engine: sa.Engine) -> None:
    """PostgreSQL: drop the public schema and everything in it, and make it again (the benchmark's own database)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")


def fresh_engine(url: str) -> sa.Engine:
    """An engine on `url` with the schema migrated from nothing (PostgreSQL's public schema emptied first; a
    SQLite file is expected new)."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        empty_schema(engine)
    migrate(engine)
    return engine


def commit_ceiling(directory: Path, sync: str = "FULL", n: int = 400) -> float:
    """One-row transactions per second on the same disk with the same durability: what no writer can beat."""
    path = directory / "ceiling.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, n INTEGER)")
    conn.execute("INSERT OR REPLACE INTO t VALUES (1, 0)")
    t = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE t SET n = ? WHERE id = 1", (i,))
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - t)
    conn.close()
    return rate


def durability(engine: sa.Engine, raw: sqlite3.Connection) -> tuple[str, str]:
    """The journal mode and synchronous level of the engine's SQLite database and of a raw sqlite3 connection, as
    printed beside the figures (both sides must write with the same durability)."""
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        level = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
    raw_mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    raw_level = raw.execute("PRAGMA synchronous").fetchone()[0]
    return f"journal_mode={mode} synchronous={names[level]}", f"journal_mode={raw_mode} synchronous={names[raw_level]}"
