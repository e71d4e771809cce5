"""A town's annual evaluations over the years, as the re-designation review and the town registry read them.

The evaluation process (workflow.evaluation.history) computes them and registers the reader here when the
application starts; the designation and towns processes ask the core, since no process imports another. Without a
registered reader a town has no evaluations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session


@dataclass(frozen=True)
class EvaluationYear:
    """One year's final evaluation of a town: its total, the points possible and, once the year's ranking is
    approved, its published rank."""

    year: int
    case_id: int
    total: Decimal
    max_points: Decimal
    rank: int | None = None


HistoryFn = Callable[[Session, int], list[EvaluationYear]]
_READERS: list[HistoryFn] = []


def register_history(fn: HistoryFn) -> None:
    """Name the function that reads a town's evaluations (one per application)."""
    if _READERS and _READERS[0] is not fn:
        raise ValueError("a reader of the evaluations is registered already")
    _READERS[:] = [fn]


def evaluation_history(session: Session, town_id: int) -> list[EvaluationYear]:
    """The town's final evaluations, latest year first ([] when none, or when no process reads them)."""
    return _READERS[0](session, town_id) if _READERS else []
