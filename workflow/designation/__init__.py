"""The designation application (市级专业镇认定申请): its form, eligibility table, guards and documents."""


def register() -> None:
    """Register this process's guards and actions with the core."""
    from workflow.designation import rules  # noqa: F401  (registers on import)
