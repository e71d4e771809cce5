"""Domain errors: each carries an HTTP-like status, a code, and a message in Chinese and English."""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    status = 400
    code = "bad_request"
    keep_writes = False  # when True the caller commits what was written before the refusal (audit, counters)

    def __init__(self, zh: str, en: str, *, code: str | None = None, details: Any = None):
        super().__init__(en)
        self.zh = zh
        self.en = en
        if code:
            self.code = code
        self.details = details

    def message(self, locale: str | None) -> str:
        return self.en if (locale or "zh").startswith("en") else self.zh


class InvalidInput(WorkflowError):
    status = 400
    code = "invalid_input"


class Forbidden(WorkflowError):
    status = 403
    code = "forbidden"


class NotFound(WorkflowError):
    status = 404
    code = "not_found"


class Conflict(WorkflowError):
    status = 409
    code = "conflict"


class Unprocessable(WorkflowError):
    """Guards or field checks failed; `details` lists every reason as {zh, en} (and `field` when known)."""

    status = 422
    code = "guards_failed"


class AuthError(WorkflowError):
    """A refused login: the failed attempt, counters and lockout are kept."""

    status = 401
    code = "unauthorized"
    keep_writes = True


def not_found_case() -> NotFound:
    return NotFound("案件不存在。", "No such case.", code="not_found")
