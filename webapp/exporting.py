"""A list's "导出 Excel": the workbook of workflow.core.exports as a download, and its audit event.

Every list page posts its current filters here through its own export route (a POST: an export writes to the audit
trail, and nothing that writes answers a GET); the route reads the filters exactly as the page reads them and asks
the same service for every matching row, not one page. The API's export operations answer the same way."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any
from urllib.parse import quote

from flask import Response

from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from webapp.templating import lang
from workflow.core import exports
from workflow.core.exports import XLSX, Filter, ListSpec, record_export, write_xlsx


def export_limit() -> int:
    """How many rows one exported file holds (workflow.core.exports.EXPORT_LIMIT)."""
    return exports.EXPORT_LIMIT


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment with its ASCII name for old clients and its real (Chinese) name as RFC 5987 filename*."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def xlsx_download(spec: ListSpec[Any], rows: Callable[[int], Iterable[Any]], *, total: int,
                  filters: Iterable[Filter] = ()) -> Response:
    """Write the list's rows (`rows(limit)`: at most `limit` of them, taken one at a time) as its workbook, record
    the export, and send the file."""
    me, now, limit = actor(), utcnow(), export_limit()
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response streams it and closes it
    try:
        exported = write_xlsx(out, spec, rows(limit), total=total, now=now, lang=lang(), actor=me, filters=filters,
                              limit=limit)
        db().rollback()  # the reading is over: the audit event is written in a transaction of its own
        with unit_of_work() as s:
            record_export(s, actor=me, spec=spec, exported=exported, now=now)
    except BaseException:
        out.close()
        raise
    size = out.seek(0, 2)
    out.seek(0)
    return Response(_chunks(out), mimetype=XLSX, headers={
        "Content-Disposition": content_disposition(exported.filename, exported.ascii_filename),
        "Content-Length": str(size), "X-Export-Rows": str(exported.rows), "X-Export-Total": str(exported.total),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    """The file's bytes; the temporary file is closed (and gone) when the response ends, read or not."""
    try:
        while chunk := file.read(1 << 16):
            yield chunk
    finally:
        file.close()
