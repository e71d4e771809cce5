"""The town registry: towns, their records, designation numbers."""


def register() -> None:
    """Register this process's guards and actions with the core."""
    from workflow.towns import rules, search  # noqa: F401  (registers on import)
