"""How a stored or generated file goes out: always as a download, with its declared type and no sniffing."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Response, request, send_file

from workflow.core.attachments import DOCX, MAX_SIZE
from workflow.core.errors import WorkflowError
from workflow.core.models import Attachment

# The file plus the form's other fields and the multipart framing.
UPLOAD_BODY_LIMIT = MAX_SIZE + 256 * 1024


class TooLarge(WorkflowError):
    status = 413
    code = "too_large"


def refuse_large_body() -> None:
    """Refuse, before the body is read, an upload whose declared length is over the limit; cap the rest."""
    if (request.content_length or 0) > UPLOAD_BODY_LIMIT:
        zh, en = "文件超过 20 MB，不能上传。", "The file is larger than 20 MB."
        raise TooLarge(zh, en, details=[{"field": "file", "zh": zh, "en": en}])
    # A body without a length (chunked) is cut off by Werkzeug once it passes the limit.
    request.max_content_length = UPLOAD_BODY_LIMIT


def _download(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    return response


def send_attachment(row: Attachment, path: Path) -> Response:
    """The stored file as a download (RFC 5987 filename* for names that are not ASCII)."""
    return _download(send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                               etag=row.sha256, last_modified=row.uploaded_at))


def send_docx(filename: str, content: bytes) -> Response:
    """A document made on the fly, as a download."""
    return _download(send_file(io.BytesIO(content), mimetype=DOCX, as_attachment=True, download_name=filename,
                               etag=False, last_modified=None))
