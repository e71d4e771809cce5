"""The case tally (case_tally): how many cases of a kind each county has in each state. The database keeps it in
step with the cases itself (triggers on case_file, migration 0026), in the writing transaction; the dashboard reads
it (workflow.dashboard.figures). `recount` counts it again from the cases, for an operator who loaded cases with
the triggers off, or twice (a data-only restore, say): `zyz tally recount`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core.db import table_of
from workflow.core.models import Case, CaseTally

_cases = table_of(Case)
_tally = table_of(CaseTally)
_COUNTED = (sa.select(_cases.c.definition_key, _cases.c.county_id, _cases.c.state, sa.func.count())
            .group_by(_cases.c.definition_key, _cases.c.county_id, _cases.c.state))


def counts(session: Session) -> dict[tuple[str, int, str], int]:
    """The tally as kept: (kind, county, state) -> cases, the rows counted down to 0 left out."""
    return {(k, c, s): n for k, c, s, n in session.connection().execute(
        sa.select(_tally.c.definition_key, _tally.c.county_id, _tally.c.state, _tally.c.n).where(_tally.c.n != 0))}


def counted(session: Session) -> dict[tuple[str, int, str], int]:
    """The same counted from the cases."""
    return {(k, c, s): n for k, c, s, n in session.connection().execute(_COUNTED)}


def recount(session: Session) -> int:
    """Count the tally again from the cases (in the caller's transaction); how many of its rows were wrong (or
    missing, or left over)."""
    kept, found = counts(session), counted(session)
    wrong = sum(1 for key in kept.keys() | found.keys() if kept.get(key) != found.get(key))
    conn = session.connection()
    conn.execute(_tally.delete())
    conn.execute(_tally.insert().from_select(["definition_key", "county_id", "state", "n"], _COUNTED))
    return wrong
