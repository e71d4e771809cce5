"""deadline: what a working-day count started from, so that it can be counted again

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00.000000

Open deadlines written before this revision get theirs where it can be told: the deadline's spec (from the
definition version the case runs on, as stored) counts working days, and the count started on the local date its
first row with that due date was written. A date the case holds in a field may have been given by a person: it
gets a basis only when counting from that day, with the holidays the system knew then, lands on it.
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from alembic import op
import chinese_calendar
import sqlalchemy as sa
import sqlmodel
import yaml


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_deadline = sa.table("deadline", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                     sa.column("state", sa.String), sa.column("name", sa.String), sa.column("kind", sa.String),
                     sa.column("due_date", sa.String), sa.column("status", sa.String),
                     sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
                     sa.column("counted_from", sa.String), sa.column("working_days", sa.Integer))
_case = sa.table("case_file", sa.column("id", sa.Integer), sa.column("definition_key", sa.String),
                 sa.column("definition_version", sa.Integer))
_source = sa.table("definition_source", sa.column("key", sa.String), sa.column("version", sa.Integer),
                   sa.column("source", sa.Text))
_year = sa.table("calendar_year", sa.column("year", sa.Integer),
                 sa.column("entered_at", sqlmodel.sql.sqltypes.UTCDateTime()))
_day = sa.table("calendar_day", sa.column("day", sa.Date), sa.column("is_workday", sa.Boolean))


def upgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted_from', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column('working_days', sa.Integer(), nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('working_days')
        batch_op.drop_column('counted_from')


def _backfill(conn: sa.Connection) -> None:
    earlier = _deadline.alias("earlier")
    first_at = (sa.select(sa.func.min(earlier.c.created_at))
                .where(earlier.c.case_id == _deadline.c.case_id, earlier.c.name == _deadline.c.name,
                       earlier.c.due_date == _deadline.c.due_date, earlier.c.kind == "expiry")
                .scalar_subquery())
    rows = conn.execute(
        sa.select(_deadline.c.id, _deadline.c.state, _deadline.c.name, _deadline.c.due_date,
                  _case.c.definition_key, _case.c.definition_version, first_at.label("first_at"))
        .join(_case, _case.c.id == _deadline.c.case_id)
        .where(_deadline.c.status == "open", _deadline.c.due_date.is_not(None))).all()
    if not rows:
        return
    definitions = {(key, version): yaml.safe_load(source)
                   for key, version, source in conn.execute(sa.select(_source.c.key, _source.c.version,
                                                                      _source.c.source))}
    entered = dict(conn.execute(sa.select(_year.c.year, _year.c.entered_at)).all())
    days = dict(conn.execute(sa.select(_day.c.day, _day.c.is_workday)).all())
    for row in rows:
        spec = _spec(definitions.get((row.definition_key, row.definition_version)), row.state, row.name)
        working_days = spec.get("working_days")
        if not working_days or spec.get("calendar_days") or row.first_at is None:
            continue
        start = row.first_at.astimezone(LOCAL_TZ).date()
        if spec.get("field") and _count(start, working_days, row.first_at, entered, days) != row.due_date:
            continue  # a date given by a person: it stays as given
        conn.execute(_deadline.update().where(_deadline.c.id == row.id)
                     .values(counted_from=start.isoformat(), working_days=working_days))


def _spec(definition: dict | None, state: str, name: str) -> dict:
    deadlines = ((definition or {}).get("states") or {}).get(state, {}) or {}
    return next((d for d in deadlines.get("deadlines") or () if d.get("name") == name), {})


def _count(start: date, working_days: int, as_of: datetime, entered: dict[int, datetime],
           days: dict[date, bool]) -> str:
    """The day `working_days` working days after `start`, with the holidays known at `as_of`."""
    day, counted = start, 0
    while counted < working_days:
        day += timedelta(days=1)
        if day.year in entered and entered[day.year] <= as_of:
            workday = days.get(day, day.weekday() < 5)
        else:
            try:
                workday = bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                workday = day.weekday() < 5
        counted += workday
    return day.isoformat()
