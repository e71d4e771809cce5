"""Annual town statistics (专业镇年度统计): the report each town files every year, its checks, and what accepting it
changes (the town's output and tier)."""


def register() -> None:
    """Register this process's guards, actions and case-page panels with the core."""
    from workflow.statistics import panels, rules  # noqa: F401  (registers on import)
