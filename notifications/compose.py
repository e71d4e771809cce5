"""Texts from templates: e-mail (subject, plain text, HTML), SMS and in-app, in Chinese or English.

A template named T lives in `templates/<zh|en>/` as T.subject.txt, T.txt, T.html and T.sms.txt. They get
the outbox row's parameters in the reader's language (`x_en` replaces `x` in English), the recipient's
name, the link to the case and the SMS signature.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

from workflow.core.profile import profile as city_profile
from workflow.notify.rules import LANGUAGES, RuleSet, TemplateSpec

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PARTS = ("subject.txt", "txt", "html", "sms.txt")
MAX_SMS_SEGMENTS = 2
# A message of up to 70 UCS-2 characters is one segment; a longer one is sent in parts of 67 (each part
# carries a header), which is how the Chinese carriers and both gateways count and bill.
SINGLE_SEGMENT, MULTI_SEGMENT = 70, 67

# auto_reload off: the templates ship with the code, no need to stat them for every message
_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, auto_reload=False)
# The system's name in every message's signature line is the city profile's (definitions/profile.yaml).
_env.globals["system_name"] = lambda lang: city_profile().system_name.get(lang)
_SPACES = re.compile(r"\s+")


class TemplateError(ValueError):
    """A template that is missing or cannot be rendered."""


@dataclass(frozen=True)
class EmailText:
    subject: str
    text: str
    html: str


def language(locale: str | None) -> str:
    return "en" if (locale or "zh").startswith("en") else "zh"


def localize(params: Mapping[str, Any], locale: str | None) -> dict[str, Any]:
    """The parameters in one language: in English `x_en` stands in for `x`."""
    english = language(locale) == "en"
    return {key: params.get(f"{key}_en", value) if english else value
            for key, value in params.items() if not key.endswith("_en")}


def _render(template: str, part: str, locale: str | None, context: Mapping[str, Any]) -> str:
    name = f"{language(locale)}/{template}.{part}"
    try:
        return _env.get_template(name).render(context).strip()
    except TemplateNotFound:
        raise TemplateError(f"template {name} is missing") from None
    except Exception as exc:  # a broken template fails this message, not the dispatcher
        raise TemplateError(f"template {name}: {type(exc).__name__}: {exc}") from None


def _context(params: Mapping[str, Any], locale: str | None, **extra: Any) -> dict[str, Any]:
    return {**localize(params, locale), **extra}


def case_url(base_url: str, case_id: int | None) -> str:
    return f"{base_url.rstrip('/')}/cases/{case_id}" if case_id else base_url.rstrip("/") + "/notifications"


def email(template: str, locale: str | None, params: Mapping[str, Any], *, recipient: str, base_url: str,
          case_id: int | None) -> EmailText:
    """Subject, plain text and HTML of an e-mail."""
    context = _context(params, locale, recipient=recipient, case_url=case_url(base_url, case_id))
    subject = _SPACES.sub(" ", _render(template, "subject.txt", locale, context))
    return EmailText(subject, _render(template, "txt", locale, context) + "\n",
                     _render(template, "html", locale, context) + "\n")


def sms(template: str, locale: str | None, params: Mapping[str, Any], *, sign_name: str) -> str:
    """The SMS text, without the signature the gateway puts in front (【sign】)."""
    return _SPACES.sub(" ", _render(template, "sms.txt", locale, _context(params, locale, sign=sign_name)))


def sms_values(spec: TemplateSpec, locale: str | None, params: Mapping[str, Any]) -> dict[str, str]:
    """The values a provider's SMS template receives, named and ordered as the rules' template declares."""
    context = localize(params, locale)
    return {name: "" if context.get(name) is None else str(context[name]) for name in spec.sms_params}


def in_app(template: str, locale: str | None, params: Mapping[str, Any]) -> str:
    """The line shown in the notification centre (the SMS text, which says the essentials)."""
    return sms(template, locale, params, sign_name="")


def sms_segments(text: str) -> int:
    """How many segments a carrier splits `text` into."""
    length = len(text)
    return 1 if length <= SINGLE_SEGMENT else math.ceil(length / MULTI_SEGMENT)


def check_templates(ruleset: RuleSet, samples: Iterable[Mapping[str, Any]] = ()) -> list[str]:
    """Problems with the templates the rules name: a missing part, or an SMS longer than two segments."""
    problems = []
    for name in sorted({rule.template for rule in ruleset.rules} | set(ruleset.templates)):
        for locale in LANGUAGES:
            for part in PARTS:
                if not (TEMPLATES_DIR / locale / f"{name}.{part}").is_file():
                    problems.append(f"{locale}/{name}.{part}: missing")
            for params in samples:
                try:
                    text = "【阳泉市专业镇】" + sms(name, locale, params, sign_name="阳泉市专业镇")
                except TemplateError as exc:
                    problems.append(str(exc))
                    continue
                if sms_segments(text) > MAX_SMS_SEGMENTS:
                    problems.append(f"{locale}/{name}.sms.txt: {len(text)} characters, more than "
                                    f"{MAX_SMS_SEGMENTS} segments: {text}")
    return problems
