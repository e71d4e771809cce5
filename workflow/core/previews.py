"""Drafts of the notice a case is about to issue, shown before it is numbered.

A process registers, for a kind of case and the states in which its next step issues a notice, a function that
renders the notice as a draft: from the template in use, watermarked 草稿, with the number left blank (it is taken
only in the transaction that issues the notice, so a draft that is sent back leaves no gap in the series). The
office sees the draft before it issues, the leading group before it approves.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lxml import etree
from sqlmodel import Session

from workflow.core.access import get_case
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.errors import NotFound
from workflow.core.models import Case, Role

PREVIEW_ROLES = {Role.office, Role.leader}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass(frozen=True)
class Preview:
    document: str  # its name in definitions/documents.yaml
    label: str
    filename: str
    content: bytes  # the draft .docx


PreviewFn = Callable[[Session, Case, date], Preview]
PREVIEWS: dict[tuple[str, str], PreviewFn] = {}
ISSUING: set[tuple[str, str]] = set()  # (definition, trigger): the steps whose confirmation shows the draft


def preview(definition: str, *, states: tuple[str, ...], shown_by: tuple[str, ...]) -> Callable[[PreviewFn],
                                                                                                 PreviewFn]:
    """Register the draft that a case of `definition` in one of `states` is about to issue; the confirmation
    pages of the triggers `shown_by` (the step that issues it, the approval before) show it too."""

    def register(fn: PreviewFn) -> PreviewFn:
        for state in states:
            if PREVIEWS.get((definition, state), fn) is not fn:
                raise ValueError(f"two previews for {definition} in {state}")
            PREVIEWS[(definition, state)] = fn
        ISSUING.update((definition, trigger) for trigger in shown_by)
        return fn

    return register


def has_preview(actor: Actor, case: Case) -> bool:
    return actor.role in PREVIEW_ROLES and (case.definition_key, case.state) in PREVIEWS


def shown_by(case: Case, trigger: str) -> bool:
    """Whether the confirmation of `trigger` on `case` shows the draft of the notice."""
    return (case.definition_key, trigger) in ISSUING and (case.definition_key, case.state) in PREVIEWS


def preview_for(*, session: Session, actor: Actor, case_id: int, now: datetime) -> Preview:
    """The draft of the notice case `case_id` is about to issue; NotFound when there is none for `actor`."""
    case = get_case(session, actor, case_id)
    if not has_preview(actor, case):
        raise NotFound("该案件当前没有待印发的文书草稿。", "This case has no draft notice to preview now.")
    return PREVIEWS[(case.definition_key, case.state)](session, case, local_date(now))


FormPreviewFn = Callable[[Session, Case, dict[str, Any], date], "Preview | None"]
FORM_PREVIEWS: dict[tuple[str, str], FormPreviewFn] = {}


def form_preview(definition: str, trigger: str) -> Callable[[FormPreviewFn], FormPreviewFn]:
    """Register the draft of the notice that `trigger` on a case of `definition` issues, made from the step's form
    as filled so far (e.g. the 整改通知书 of a finding the office is about to order rectified); the function
    returns None when the form, as filled, issues no notice."""

    def register(fn: FormPreviewFn) -> FormPreviewFn:
        if FORM_PREVIEWS.get((definition, trigger), fn) is not fn:
            raise ValueError(f"two form previews for {definition}.{trigger}")
        FORM_PREVIEWS[(definition, trigger)] = fn
        return fn

    return register


def has_form_preview(actor: Actor, case: Case, trigger: str) -> bool:
    return actor.role in PREVIEW_ROLES and (case.definition_key, trigger) in FORM_PREVIEWS


def form_preview_for(*, session: Session, actor: Actor, case_id: int, trigger: str, payload: dict[str, Any],
                     now: datetime) -> Preview | None:
    """The draft that `trigger` with `payload` would issue on case `case_id`, or None when it issues none."""
    case = get_case(session, actor, case_id)
    if not has_form_preview(actor, case, trigger):
        raise NotFound("该步骤不印发文书。", "This step issues no notice.")
    return FORM_PREVIEWS[(case.definition_key, trigger)](session, case, payload, local_date(now))


@dataclass(frozen=True)
class Line:
    """A paragraph of a document as the preview page shows it."""

    text: str
    align: str  # left, center, right, both
    indent: bool
    red: bool
    big: bool


def lines_of(content: bytes) -> list[Line]:
    """The body's paragraphs (table rows as lines), with their alignment and whether they are red or large."""
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        root = etree.fromstring(package.read("word/document.xml"))
    out: list[Line] = []
    body = root.find(f"{W}body")
    for element in body if body is not None else []:
        if element.tag == f"{W}p":
            out.append(_line(element))
        elif element.tag == f"{W}tbl":
            for row in element.iter(f"{W}tr"):
                cells = ["".join(t.text or "" for t in cell.iter(f"{W}t")) for cell in row.iter(f"{W}tc")]
                out.append(Line(" | ".join(cells), "left", False, False, False))
    return out


def _line(paragraph: etree._Element) -> Line:
    parts = []
    for node in paragraph.iter(f"{W}t", f"{W}tab", f"{W}br"):
        parts.append(node.text or "" if node.tag == f"{W}t" else ("　　" if node.tag == f"{W}tab" else "\n"))
    jc = paragraph.find(f"{W}pPr/{W}jc")
    color = paragraph.find(f".//{W}rPr/{W}color")
    size = paragraph.find(f".//{W}rPr/{W}sz")
    indent = paragraph.find(f"{W}pPr/{W}ind")
    return Line(text="".join(parts), align=jc.get(f"{W}val") if jc is not None else "left",
                indent=indent is not None and indent.get(f"{W}firstLine") is not None,
                red=color is not None and color.get(f"{W}val", "").upper() == "FF0000",
                big=size is not None and int(size.get(f"{W}val", "0")) >= 40)
