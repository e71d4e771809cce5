"""The grading of towns by output (definitions/registry.yaml; plan section 五(二)): 10亿级, 20亿级, 50亿级 and
100亿级. The registry shows it; accepting a year's statistics can move a town to another tier."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import yaml

from workflow.core.definitions import DEFINITIONS_DIR, Label


@dataclass(frozen=True)
class Tier:
    key: str
    min_yi: Decimal
    label: Label


@lru_cache(maxsize=1)
def tiers() -> tuple[Tier, ...]:
    """The grading table of definitions/registry.yaml, highest first."""
    raw = yaml.safe_load((DEFINITIONS_DIR / "registry.yaml").read_text(encoding="utf-8"))
    found = tuple(Tier(t["key"], Decimal(str(t["min_yi"])), Label(t["label"]["zh"], t["label"]["en"]))
                  for t in raw["tiers"])
    if list(found) != sorted(found, key=lambda t: t.min_yi, reverse=True):
        raise ValueError("registry.yaml: tiers: must be listed highest first")
    return found


def tier_of(output_yi: Any) -> Tier | None:
    """The tier of an output in 亿元, or None below the lowest (or when there is no output)."""
    if output_yi is None:
        return None
    try:
        value = Decimal(str(output_yi))
    except (InvalidOperation, ValueError):
        return None
    return next((t for t in tiers() if value >= t.min_yi), None)
