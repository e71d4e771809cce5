"""Contact details: mainland mobile numbers and e-mail addresses, checked wherever a user is saved."""

from __future__ import annotations

import re
from typing import Any

# 11 digits starting 13-19 (every mainland carrier's range), optionally after +86 / 86, with the spaces
# and hyphens people type between groups.
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_SEPARATORS = re.compile(r"[\s-]")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# ASCII addresses only: SMTP servers without SMTPUTF8 refuse anything else.
_EMAIL = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")


def normalize_mobile(raw: str | None) -> str | None:
    """The 11-digit number for a mainland mobile (+86 optional); None when empty; ValueError when not one."""
    text = _SEPARATORS.sub("", raw or "")
    if not text:
        return None
    match = _MOBILE.fullmatch(text)
    if match is None:
        raise ValueError(raw)
    return match.group(1)


def normalize_email(raw: str | None) -> str | None:
    """The trimmed address; None when empty; ValueError when it is not an address."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > 200 or not _EMAIL.fullmatch(text):
        raise ValueError(raw)
    return text


def contact_problems(*, email: str | None, mobile: str | None) -> list[dict[str, Any]]:
    """Why the contact details are refused (empty when both are acceptable or empty)."""
    problems = []
    try:
        normalize_mobile(mobile)
    except ValueError:
        problems.append({"field": "mobile", "zh": "手机号码应为11位中国大陆手机号（可加 +86）",
                         "en": "mobile: an 11-digit mainland number starting 13-19 (+86 optional)"})
    try:
        normalize_email(email)
    except ValueError:
        problems.append({"field": "email", "zh": "电子邮箱格式不正确", "en": "not a valid e-mail address"})
    return problems
