"""Finding cases by what people remember of them: a case number, a town, a county, an enterprise, a word of the
title or of a comment — in Chinese, which has no spaces between words, so the index is of character trigrams.

Every case has one row of `case_search` (workflow.core.models.CaseSearch): its number, title, town, county, what
its process contributes (`contributes`: the enterprise names of an application, the problem of an order...) and
the comments of its steps, one per line. `index_case` rewrites it in the transaction of every change: `fire` and
`create_case` call it, and a flush that changes a case's title, number, town, county or data, or the name of a
town or a unit, does too (`_after_flush`). `rebuild` writes every row again (`zyz search rebuild`).

Only what everyone who sees the case may read goes into the text: the data of the field groups that
definitions/visibility.yaml restricts (member units' opinions, expert scores) and the comments of steps whose
author is confidential are left out, so that a match can never tell a county what it may not read. The keys it
names `personal` (a mobile number, an address) are left out too: they are encrypted in the case's row, and the
index would keep them in clear.

The query is split at spaces into terms, each found as it is written (a literal substring: `%` and `_` are
characters like any other); a case matches when its text holds every term.

- SQLite: an FTS5 table with the trigram tokenizer over `case_search` (`case_search_fts`, kept by triggers;
  migration 0014). A term of three characters or more is a quoted phrase for MATCH, which the trigram index
  answers exactly. A term of one or two characters — common in Chinese, a county such as 盂县, a word such as
  铸造 — has no trigram to look up: it is a LIKE on the same text, narrowed first by a second FTS5 table of
  single characters (`case_search_fts_chars`: the text with a space after every character, unicode61
  tokenizer, kept by `index_case`), where the term is a phrase of its characters. That table only narrows (it
  drops punctuation and folds case): the LIKE decides, so the result is exactly the LIKE's, and a term of
  punctuation alone (`%`, `_`) is the LIKE over every text.
- PostgreSQL: the pg_trgm extension and a GIN trigram index on `case_search.body`; every term is an ILIKE
  '%term%', which pg_trgm answers from the index for three characters or more (the database's LC_CTYPE must be
  a UTF-8 locale, e.g. C.UTF-8 or zh_CN.UTF-8, for pg_trgm to take Chinese characters as word characters).

Results come through `case_filter`, the same rule as every list of cases: a county finds only its own cases, a
member unit only those it was brought into. Highlighting is done here, on the text the user may read, and returned
as segments (text, matched) that the page and the API mark up themselves: nothing here is HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from workflow.core.access import case_filter
from workflow.core.actors import Actor
from workflow.core.db import Prepared, is_sqlite, table_of
from workflow.core.errors import InvalidInput
from workflow.core.models import AuditEvent, Case, CaseSearch, Town, Unit
from workflow.core.queries import MAX_PAGE_SIZE, Page

MAX_QUERY = 100  # characters, after stripping
MAX_TERMS = 8
TRIGRAM = 3  # the shortest term the trigram indexes can look up
FTS_TABLE = "case_search_fts"  # SQLite: the FTS5 table and its shadow tables (case_search_fts_data, ...)
CHARS_TABLE = "case_search_fts_chars"  # SQLite: the FTS5 table of single characters (and its shadow tables)
TRGM_INDEX = "ix_case_search_body_trgm"  # PostgreSQL: the GIN trigram index
CHARS_INDEX = "ix_case_search_body_chars"  # PostgreSQL: the GIN index of each text's characters
COUNT_CAP = 1000  # matches counted at most: a query that finds more says "more than 1,000" and is narrowed
SNIPPET_AROUND = 30  # characters of context either side of the first match in a line

Segment = tuple[str, bool]  # a piece of text, and whether it is a match
Contributor = Callable[[dict[str, Any]], Iterable[Any]]
CONTRIBUTORS: dict[str, list[Contributor]] = {}


def contributes(definition_key: str) -> Callable[[Contributor], Contributor]:
    """Register what a process adds to its cases' search text: `fn(data)` gives texts from the case's data (only
    the data everyone who sees the case may read is handed to it)."""

    def register(fn: Contributor) -> Contributor:
        found = CONTRIBUTORS.setdefault(definition_key, [])
        if fn not in found:
            found.append(fn)
        return fn

    return register


DATA_INDEX = "ix_case_file_data_"  # expression indexes on a case's data (migrations/versions/0018_ledger_filters.py)


def outside_models(name: str | None, type_: str, parent_names: Any = None) -> bool:
    """For Alembic's `include_name`: False for the index objects the migrations make and the models do not declare
    (the FTS5 table and its shadow tables; the trigram index; the expression indexes on case data, 0018)."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and (name in (TRGM_INDEX, CHARS_INDEX) or (name or "").startswith(DATA_INDEX)))


# --- the text ---------------------------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def _line(value: Any) -> str:
    return _SPACE.sub(" ", str(value)).strip() if value is not None else ""


def body_of(*, number: str, title: str, town: str | None, county: str | None, definition_key: str,
            data: dict[str, Any] | None, comments: Iterable[tuple[str | None, str | None]]) -> str:
    """The search text of a case: one line per piece, each piece once, in a fixed order (number, title, town,
    county, the process's contributions, the comments in the order of the steps)."""
    from workflow.core.visibility import rules

    spec = rules().of(definition_key)
    restricted = {key for group in spec.groups.values() for key in group.keys} | rules().personal
    public = {k: v for k, v in (data or {}).items() if k not in restricted}
    pieces: list[Any] = [number, title, town, county]
    for fn in CONTRIBUTORS.get(definition_key, ()):
        pieces.extend(fn(public))
    pieces.extend(comment for trigger, comment in comments if (trigger or "") not in spec.events)
    lines: list[str] = []
    for piece in pieces:
        line = _line(piece)
        if line and line not in lines:
            lines.append(line)
    return "\n".join(lines)


_cases, _towns, _units = table_of(Case), table_of(Town), table_of(Unit)
_events, _search = table_of(AuditEvent), table_of(CaseSearch)
_counties = _units.alias("county")
# The case with its town's and county's names and the search text stored now (None: none yet), in one statement.
_READ = Prepared(sa.select(_cases.c.number, _cases.c.title, _cases.c.definition_key, _cases.c.data, _towns.c.name,
                           _counties.c.name, _search.c.body)
                 .select_from(_cases.outerjoin(_towns, _towns.c.id == _cases.c.town_id)
                              .outerjoin(_counties, _counties.c.id == _cases.c.county_id)
                              .outerjoin(_search, _search.c.case_id == _cases.c.id))
                 .where(_cases.c.id == sa.bindparam("case_id")))
_COMMENTS = Prepared(sa.select(_events.c.trigger, _events.c.comment)
                     .where(_events.c.case_id == sa.bindparam("case_id"), _events.c.comment.is_not(None))
                     .order_by(_events.c.seq))
_INSERT = Prepared(sa.insert(_search))
_UPDATE = Prepared(sa.update(_search).where(_search.c.case_id == sa.bindparam("b_case_id")))


def spaced(text: str) -> str:
    """The text as the single-character table indexes it: a space after every character."""
    return " ".join(text)


def index_case(session: Session | OrmSession, case_id: int, *, chars_written: bool = True) -> None:
    """Write the case's search text as it stands now in this transaction (nothing when it is unchanged).
    `chars_written` False: the single-character table holds nothing of this case (after `rebuild` emptied it)."""
    conn = session.connection()
    found = _READ.fetch(conn, {"case_id": case_id})
    if not found:
        return
    number, title, key, data, town, county, old = found[0]
    body = body_of(number=number, title=title, town=town, county=county, definition_key=key, data=data,
                   comments=_COMMENTS.fetch(conn, {"case_id": case_id}))
    if old is None:
        _INSERT.execute(conn, {"case_id": case_id, "body": body})
    elif old != body:
        _UPDATE.execute(conn, {"b_case_id": case_id, "body": body})
    elif chars_written:
        return
    if is_sqlite(conn):  # the trigram table follows by its triggers; the single characters are written here
        if old is not None and chars_written:
            conn.exec_driver_sql("INSERT INTO case_search_fts_chars(case_search_fts_chars, rowid, body) "
                                 "VALUES ('delete', ?, ?)", (case_id, spaced(old)))
        conn.exec_driver_sql("INSERT INTO case_search_fts_chars(rowid, body) VALUES (?, ?)", (case_id, spaced(body)))


def rebuild(session: Session) -> int:
    """Write every case's search text again (after an import, or to repair), and on SQLite both FTS5 tables
    from it; the number of cases."""
    conn = session.connection()
    sqlite = is_sqlite(conn)
    if sqlite:
        conn.exec_driver_sql("INSERT INTO case_search_fts_chars(case_search_fts_chars) VALUES ('delete-all')")
    ids = list(conn.execute(sa.select(_cases.c.id).order_by(_cases.c.id)).scalars())
    for case_id in ids:
        index_case(session, case_id, chars_written=not sqlite)
    if sqlite:
        conn.exec_driver_sql("INSERT INTO case_search_fts(case_search_fts) VALUES ('rebuild')")
    return len(ids)


_WATCHED_CASE = ("number", "title", "town_id", "county_id", "data")


@event.listens_for(OrmSession, "after_flush")
def _after_flush(session: OrmSession, flush_context: Any) -> None:
    """A case, town or unit changed through the ORM (not by `fire`, which indexes itself): index again what it
    touches, in the same transaction."""
    cases: set[int] = set()
    towns: set[int] = set()
    units: set[int] = set()
    for obj in session.dirty:
        state = sa.inspect(obj)
        if isinstance(obj, Case) and obj.id is not None:
            if any(state.attrs[name].history.has_changes() for name in _WATCHED_CASE):
                cases.add(obj.id)
        elif isinstance(obj, Town) and obj.id is not None and state.attrs["name"].history.has_changes():
            towns.add(obj.id)
        elif isinstance(obj, Unit) and obj.id is not None and state.attrs["name"].history.has_changes():
            units.add(obj.id)
    if towns or units:
        cases.update(session.connection().execute(sa.select(_cases.c.id).where(
            sa.or_(_cases.c.town_id.in_(towns), _cases.c.county_id.in_(units)))).scalars())
    for case_id in sorted(cases):
        index_case(session, case_id)


# --- the query --------------------------------------------------------------------------------------------------

def terms_of(q: str | None) -> list[str]:
    """The terms of a query, or InvalidInput with the reason: 1 to 100 characters after trimming."""
    text = (q or "").strip()
    if not text:
        raise InvalidInput("请输入要搜索的内容。", "Enter something to search for.", code="bad_query",
                           details=[{"field": "q", "zh": "请输入要搜索的内容", "en": "enter something to search for"}])
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"搜索内容不能超过 {MAX_QUERY} 个字（现有 {len(text)} 个字）。",
                           f"Search for at most {MAX_QUERY} characters (this has {len(text)}).", code="bad_query",
                           details=[{"field": "q", "zh": f"不能超过 {MAX_QUERY} 个字",
                                     "en": f"at most {MAX_QUERY} characters"}])
    terms: list[str] = []
    for term in text.split():
        if term.casefold() not in (t.casefold() for t in terms):
            terms.append(term)
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"搜索词不能超过 {MAX_TERMS} 个。", f"Search for at most {MAX_TERMS} words.",
                           code="bad_query", details=[{"field": "q", "zh": f"不能超过 {MAX_TERMS} 个词",
                                                       "en": f"at most {MAX_TERMS} words"}])
    return terms


def like_pattern(term: str) -> str:
    """'%term%' with LIKE's wildcards in the term taken literally (escape character: backslash)."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _chars(body: Any) -> Any:
    """PostgreSQL: the characters of the text as an array (what CHARS_INDEX indexes)."""
    return sa.func.regexp_split_to_array(body, "")


def _short(terms: list[str], sqlite: bool) -> list[str]:
    """The terms the index of characters can narrow: one or two characters, on SQLite holding a letter or digit
    (the table drops punctuation), on PostgreSQL without case (a cased term is an ILIKE, which it cannot serve)."""
    return [t for t in terms if len(t) < TRIGRAM
            and (any(c.isalnum() for c in t) if sqlite else t.lower() == t.upper())]


def match_clause(session: Session, terms: list[str], *, narrow: bool = True) -> sa.ColumnElement[bool]:
    """The WHERE clause on `case_search` for cases whose text holds every term. The terms of one or two characters
    are narrowed by the index of characters when `narrow`, else left to the LIKE as the rows come (the scan
    newest-first that `search_cases` chooses for common words): the same rows either way."""
    body = _search.c.body
    likes = [body.ilike(like_pattern(t), escape="\\") if t.lower() != t.upper()  # ILIKE only where case matters:
             else body.like(like_pattern(t), escape="\\") for t in terms]  # on Chinese it lowercases every text
    if not is_sqlite(session):
        clauses_pg = list(likes)
        short_pg = _short(terms, sqlite=False)
        if narrow and short_pg:
            # no trigram: the cases holding the characters, from their GIN index, found first and apart (a
            # MATERIALIZED CTE), so that the planner cannot trade the index for a filter on every row it walks
            narrowed = (sa.select(_search.c.case_id)
                        .where(*(_chars(body).op("@>")(sa.cast(sa.literal(list(t), sa.ARRAY(sa.Text)),
                                                               sa.ARRAY(sa.Text))) for t in short_pg),
                               *(body.like(like_pattern(t), escape="\\") for t in short_pg))
                        .cte("narrowed").prefix_with("MATERIALIZED"))
            clauses_pg.append(_search.c.case_id.in_(sa.select(narrowed.c.case_id)))
        return sa.and_(*clauses_pg)
    clauses: list[sa.ColumnElement[bool]] = []
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    if long_terms:
        fts: sa.Select[Any] = (sa.select(sa.literal_column("rowid")).select_from(sa.table(FTS_TABLE))
               .where(sa.literal_column(FTS_TABLE).op("MATCH")(sa.bindparam(
                   "fts_query", " AND ".join(_fts_phrase(t) for t in long_terms), type_=sa.String))))
        clauses.append(_search.c.case_id.in_(fts))
    # one or two characters: no trigram to look up; narrowed by the single characters, decided by a LIKE
    short = _short(terms, sqlite=True)
    if narrow and short:
        clauses.append(_search.c.case_id.in_(_chars_match(short)))
    clauses.extend(like for t, like in zip(terms, likes, strict=True) if len(t) < TRIGRAM)
    return sa.and_(*clauses)


def _chars_match(short: list[str]) -> sa.Select[Any]:
    """SQLite: the rowids of the single-character table matching these short terms (each a phrase of its
    characters)."""
    return (sa.select(sa.literal_column("rowid")).select_from(sa.table(CHARS_TABLE))
            .where(sa.literal_column(CHARS_TABLE).op("MATCH")(sa.bindparam(
                "chars_query", " AND ".join(_fts_phrase(" ".join(c for c in t if c.isalnum())) for t in short),
                type_=sa.String))))


# --- choosing the plan of short terms ---------------------------------------------------------------------------
#
# A term of one or two characters has two plans, with the same rows: narrowed by the index of characters (every
# case holding the characters is fetched, then the newest taken: cost in proportion to H, the cases found), or
# a scan newest-first that tests each text with LIKE and stops when it has what it needs (k rows: the page, or
# COUNT_CAP + 1 for the count; it reads about k·N/H texts of N). The scan wins when k·N/H · b < H · a, i.e. when
# the density d = H/N satisfies d² ≥ (b/a) · k / N, b/a being what a text read by the scan costs against a case
# handed over by the index. Measured on 100,000 cases (bench/bench_search.py): SQLite b/a ≈ 8 (a LIKE of a text
# 1.2 µs, a case from the FTS5 list 0.15 µs), PostgreSQL ≈ 2 (a heap tuple walked by primary key and tested
# 0.3 µs, one from the bitmap of the GIN index 0.15 µs plus its share of the join and sort). Page and count are
# planned apart: at N = 100,000 on SQLite the page scans from d ≈ 4 %, the count only from d ≈ 28 %.
SCAN_COST = {"sqlite": 8.0, "postgresql": 2.0}
SAMPLE = 1000  # PostgreSQL: the newest texts the density is measured on


def _density(conn: sa.Connection, short: list[str], sqlite: bool) -> tuple[float, int]:
    """(d, N): the share of the texts holding every short term, and how many texts there are (N ≈ the largest
    case id: case ids only grow, and it costs one step down the primary key).

    SQLite counts the matches exactly in the single-character table: a phrase query of FTS5 reads only the
    doclists of its characters (under 3 ms at 100,000 cases for the commonest pairs), and, unlike the per-token
    totals of an fts5vocab table, it counts the term itself — two common characters that are seldom side by side
    are seen to be rare. PostgreSQL cannot count from a GIN index without fetching every row it lists (no
    index-only scan), and its statistics (most_common_elems of the characters) give characters, not pairs, and
    only after an ANALYZE; so the density is measured on the newest SAMPLE texts — the very rows the scan
    newest-first would read first — by LIKE: about 1 ms, exact for pairs and for several terms together."""
    n = conn.execute(sa.select(sa.func.max(_search.c.case_id))).scalar() or 0
    if not n:
        return 0.0, 0
    if sqlite:
        matched = _chars_match(short).limit(n).subquery()
        found = conn.execute(sa.select(sa.func.count()).select_from(matched)).scalar_one()
        return found / n, n
    newest = sa.select(_search.c.body).order_by(_search.c.case_id.desc()).limit(SAMPLE).subquery()
    hits, read = conn.execute(sa.select(
        sa.func.count().filter(sa.and_(*(newest.c.body.like(like_pattern(t), escape="\\") for t in short))),
        sa.func.count())).one()
    return (hits / read if read else 0.0), n


def scans(density: float, n: int, needed: int, dialect: str) -> bool:
    """Whether the scan newest-first is cheaper than the index of characters for `needed` rows (see above)."""
    return n > 0 and density * density >= SCAN_COST.get(dialect, 8.0) * needed / n


@dataclass
class Hit:
    """One case found: the case, its county and town, and its number, title and a line of its text as segments
    with the matches marked."""

    case: Case
    county: str
    town: str | None
    number: list[Segment]
    title: list[Segment]
    snippet: list[Segment]  # the first other line with a match, cut around it; [] when only number or title match


@dataclass
class SearchPage(Page[Hit]):
    capped: bool = False  # more than COUNT_CAP found: `total` is COUNT_CAP, the query should be narrowed


def search_cases(session: Session, actor: Actor, q: str | None, *, page: int = 1,
                 per_page: int = 20) -> SearchPage:
    """The cases `actor` may see whose search text holds every term of `q`: the case whose number is `q` first,
    then the newest; counted up to COUNT_CAP. InvalidInput for an empty or too long query."""
    terms = terms_of(q)
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    conn = session.connection()
    sqlite = is_sqlite(conn)
    if not sqlite:
        # the plan is chosen here, by the terms' values: a plan the server prepared once for every value (psycopg
        # prepares a statement run five times on a connection) would keep one word's plan for all the others
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    short = _short(terms, sqlite)
    density, n = _density(conn, short, sqlite) if short else (0.0, 0)
    start = (page - 1) * per_page

    def where(needed: int) -> sa.ColumnElement[bool]:
        return sa.and_(case_filter(actor), match_clause(
            session, terms, narrow=not scans(density, n, needed, conn.dialect.name)))

    joined = sa.join(table_of(Case), _search, _search.c.case_id == _cases.c.id)
    counted = conn.execute(sa.select(sa.func.count()).select_from(
        sa.select(sa.literal(1)).select_from(joined).where(where(COUNT_CAP + 1)).limit(COUNT_CAP + 1)
        .subquery())).scalar_one()
    exact = conn.execute(sa.select(_cases.c.id).where(_cases.c.number == (q or "").strip(),
                                                      case_filter(actor))).scalar()
    # the exact number first: on the first page before the newest, left out of the rest
    rest = sa.select(_cases.c.id).select_from(joined).where(where(start + per_page)).order_by(_cases.c.id.desc())
    if exact is not None:
        rest = rest.where(_cases.c.id != exact)
        start = max(0, start - 1)
    ids = list(conn.execute(rest.offset(start).limit(per_page - (exact is not None and page == 1))).scalars())
    if exact is not None and page == 1:
        ids.insert(0, exact)
    hits: list[Hit] = []
    if ids:
        rows = session.exec(sa.select(Case, _search.c.body, Town.name, Unit.name)  # type: ignore[call-overload]  # SQLModel's exec overloads do not cover a mixed select
                            .join(_search, _search.c.case_id == Case.id)
                            .outerjoin(Town, Town.id == Case.town_id)
                            .join(Unit, Unit.id == Case.county_id)
                            .where(Case.id.in_(ids))).all()  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
        by_id = {row[0].id: row for row in rows}
        for case_id in ids:
            case, body, town, county = by_id[case_id]
            hits.append(Hit(case=case, county=county, town=town, number=highlight(case.number, terms),
                            title=highlight(case.title, terms), snippet=snippet(body, terms,
                                                                                skip=(case.number, case.title))))
    capped = counted > COUNT_CAP
    return SearchPage(hits, min(int(counted), COUNT_CAP), page, per_page, capped)


# --- highlighting -----------------------------------------------------------------------------------------------

def _spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where the terms occur in `text` (case-insensitively), overlapping and adjacent spans merged."""
    spans = sorted((m.start(), m.end()) for t in terms if t
                   for m in re.finditer(re.escape(t), text, re.IGNORECASE))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str | None, terms: Iterable[str]) -> list[Segment]:
    """`text` cut into segments, the matches of the terms marked True."""
    text = text or ""
    out: list[Segment] = []
    at = 0
    for start, end in _spans(text, terms):
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out


def snippet(body: str, terms: list[str], *, skip: Iterable[str] = (), around: int = SNIPPET_AROUND) -> list[Segment]:
    """The first line of `body` with a match that is not one of `skip` (shown apart), cut to `around` characters
    either side of its first match (an ellipsis where cut), as segments."""
    skipped = {_line(s) for s in skip}
    for line in body.split("\n"):
        if line in skipped:
            continue
        spans = _spans(line, terms)
        if not spans:
            continue
        start = max(0, spans[0][0] - around)
        end = min(len(line), spans[0][1] + around)
        segments = highlight(line[start:end], terms)
        if start > 0:
            segments.insert(0, ("…", False))
        if end < len(line):
            segments.append(("…", False))
        return segments
    return []
