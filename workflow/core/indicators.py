"""Indicators one process measures and another names: the dashboard's targets (definitions/targets.yaml) are the
city's indicators, and an action plan's task may name one beside its own target figure. The process that measures
them registers its catalogue and its reading of the city's current figures; a process that names one asks here, so
that neither imports the other (the core knows no process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from workflow.core.yamlcheck import Label


@dataclass(frozen=True)
class Indicator:
    key: str
    label: Label
    unit: Label


@dataclass(frozen=True)
class Reading:
    """An indicator's current figure for the whole city, with the city's goal of the plan period it is read in."""

    indicator: Indicator
    value: Decimal
    goal: Decimal | None
    period: Label
    year: int | None = None  # a figure from one year's statistics: that year


Catalogue = Callable[[], dict[str, Indicator]]
Readings = Callable[[Session, date, frozenset[str]], dict[str, Reading]]
_registered: dict[str, tuple[Catalogue, Readings]] = {}


def register_indicators(name: str, catalogue: Catalogue, readings: Readings) -> None:
    """A process offers its indicators under `name` (registering again replaces them)."""
    _registered[name] = (catalogue, readings)


def indicators() -> dict[str, Indicator]:
    """Every indicator a task may name, by key."""
    found: dict[str, Indicator] = {}
    for catalogue, _ in _registered.values():
        found.update(catalogue())
    return found


def readings(session: Session, today: date, keys: Iterable[str | None]) -> dict[str, Reading]:
    """The city's current figure of each indicator named in `keys` (an unknown key, or one not measured in the plan
    period `today` falls in, has none)."""
    wanted = frozenset(k for k in keys if k)
    found: dict[str, Reading] = {}
    if not wanted:
        return found
    for _, read in _registered.values():
        found.update(read(session, today, wanted))
    return found
