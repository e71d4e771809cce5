"""What an application adds to its case's search text: the leading industry, the leading enterprises, the brands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflow.core.search import contributes


def _names(items: Any) -> Iterator[Any]:
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get("name"):
            yield item["name"]


@contributes("designation")
def application_text(data: dict[str, Any]) -> Iterator[Any]:
    yield data.get("leading_industry")
    yield from _names(data.get("leading_enterprises"))
    yield from _names(data.get("brands"))
