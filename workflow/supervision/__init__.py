"""Supervision: inspections, rectification orders and criticism."""


def register() -> None:
    """Register this process's guards and actions with the core."""
    from workflow.supervision import rules  # noqa: F401  (registers on import)
