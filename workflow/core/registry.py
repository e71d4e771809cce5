"""Named guards and actions that definitions refer to; unknown names fail when definitions load."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# A guard returns the reasons it refuses (empty when it passes): {"zh", "en"} and, when a form field is
# to blame, "field" (workflow/core/reasons.py: reason).
GuardResult = list[dict[str, Any]]
# Both take the workflow.core.engine.FireContext of the step (named here as Any: the engine imports this module).
GuardFn = Callable[[Any], GuardResult]
ActionFn = Callable[[Any], Any]

GUARDS: dict[str, GuardFn] = {}
ACTIONS: dict[str, ActionFn] = {}


def guard(name: str) -> Callable[[GuardFn], GuardFn]:
    """Register a guard under `name` for use in definitions."""

    def register(fn: GuardFn) -> GuardFn:
        if name in GUARDS and GUARDS[name] is not fn:
            raise ValueError(f"guard {name!r} registered twice")
        GUARDS[name] = fn
        return fn

    return register


def action(name: str) -> Callable[[ActionFn], ActionFn]:
    """Register an action (run after the state change, inside the transaction) under `name`."""

    def register(fn: ActionFn) -> ActionFn:
        if name in ACTIONS and ACTIONS[name] is not fn:
            raise ValueError(f"action {name!r} registered twice")
        ACTIONS[name] = fn
        return fn

    return register


def load_rules() -> None:
    """Refuse to read definitions before any process has registered its guards and actions.

    The core never imports a process: each process package registers itself when the application starts
    (`workflow.processes.load()`, called by the web app, the `zyz` command and the tests).
    """
    if not GUARDS and not ACTIONS:
        raise RuntimeError("no process is registered: call workflow.processes.load() when the application starts")
