"""What a town's registry record adds to its search text: the designation number."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflow.core.search import contributes


@contributes("town")
def record_text(data: dict[str, Any]) -> Iterator[Any]:
    yield data.get("designation_number")
