"""The evaluation's documents: the notice praising the towns at the top of the year's ranking (表扬通报), as the
plan's 六(五) has the leading group issue it."""

from __future__ import annotations

from datetime import date
from typing import Any

from workflow.core.documents import cn_date, render_shipped


def praise_title(year: int) -> str:
    return f"关于表扬{year}年度专业镇建设成效突出乡镇的通报"


def praise_fields(*, number: str, year: int, rows: list[dict[str, Any]], issued: date) -> dict[str, Any]:
    """The notice's fields; `rows` are the towns praised in rank order, each {rank, county, town, total}."""
    return {"number": number, "title": praise_title(year), "year": year, "count": len(rows),
            "rows": [{"rank": row["rank"], "county": row["county"], "town": row["town"], "total": row["total"]}
                     for row in rows],
            "issued": cn_date(issued)}


def praise_notice(*, number: str, year: int, rows: list[dict[str, Any]], issued: date, draft: bool = False) -> bytes:
    """The notice praising the towns of `rows` for the evaluation of `year`, from the shipped template."""
    return render_shipped("praise_notice", praise_fields(number=number, year=year, rows=rows, issued=issued),
                          issued=issued, draft=draft)
