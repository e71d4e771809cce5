"""What inspections and orders add to their cases' search text: the findings, the problem to rectify, the notes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflow.core.search import contributes


@contributes("inspection")
def inspection_text(data: dict[str, Any]) -> Iterator[Any]:
    yield data.get("campaign")
    yield data.get("note")
    for finding in data.get("findings") or ():
        if isinstance(finding, dict):
            yield finding.get("text")


@contributes("rectification")
def order_text(data: dict[str, Any]) -> Iterator[Any]:
    yield data.get("problem")
    yield data.get("notice_number")
    for entry in data.get("criticisms") or ():
        if isinstance(entry, dict):
            yield entry.get("number")
