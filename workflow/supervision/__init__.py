"""Supervision: inspections, rectification orders and criticism."""


def register() -> None:
    """Register this process's guards, actions and case-page panels with the core."""
    from workflow.supervision import panels, rules, search  # noqa: F401  (registers on import)
