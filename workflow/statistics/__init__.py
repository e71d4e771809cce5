"""Annual town statistics (专业镇年度统计): the report each town files every year, its checks, and what accepting it
changes (the town's output and tier)."""


def register() -> None:
    """Register this process's guards, actions, case-page panels and field labels with the core."""
    from workflow.core.labels import register_fields
    from workflow.core.yamlcheck import Label
    from workflow.statistics import fields, panels, rules  # noqa: F401  (registers on import)

    register_fields({
        "figures": Label("统计数据", "Figures"),
        "explanations": Label("变化原因说明", "Reasons for large changes"),
        "report_year": Label("统计年度", "Year reported"),
        "spec_version": Label("统计报表版本", "Version of the report's fields"),
        **{f.key: f.label for f in fields.statistics_spec().fields},
    })
