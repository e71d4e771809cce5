"""The process packages this application runs: the one list, read when the application or a command starts.

Each package registers its guards, actions and hooks with the core (`register()`); the core never imports a
process. A new process is one more line here (see "Adding a process" in README.md).
"""

from __future__ import annotations

import importlib

PACKAGES = (
    "workflow.accounts",
    "workflow.towns",
    "workflow.designation",
    "workflow.supervision",
    "workflow.statistics",
    "workflow.dashboard",
    "workflow.evaluation",
    "workflow.projects",
    "workflow.problems",
    "workflow.programmes",
    "workflow.recommendation",
    "workflow.notify",
)

_loaded = False


def load() -> None:
    """Register every process package with the core (once per process)."""
    global _loaded
    if _loaded:
        return
    for name in PACKAGES:
        importlib.import_module(name).register()
    from workflow.core.visibility import rules

    rules()  # definitions/visibility.yaml is checked against the definitions when the application starts
    _loaded = True
