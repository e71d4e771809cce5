"""The annual evaluation of the professional towns (the plan, 六(五)): its indicators as data
(definitions/evaluation.yaml, loaded and checked by `indicators`), the scoring, ranking and outcomes (`scoring`,
pure functions), and the yearly campaign (definitions/evaluation_town.yaml): one case per designated town and year
(`campaign`), its values and breakdown (`values`), guards and actions (`rules`), and what each role is told on
the case page (`panels`), a town's evaluations over the years (`history`); the year's ranking
(definitions/evaluation_ranking.yaml), its approval and what approval sets in motion: the praise notice, the 督办
orders, the revocation proposals (`ranking`)."""


def register() -> None:
    """Register this process's guards, actions, case-page panels and field labels with the core."""
    from workflow.core.evaluations import register_history
    from workflow.core.labels import register_fields
    from workflow.core.yamlcheck import Label
    from workflow.evaluation import panels, ranking, rules  # noqa: F401  (registers on import)
    from workflow.evaluation.history import town_history

    register_history(town_history)

    register_fields({
        "evaluation_year": Label("评价年度", "Year evaluated"),
        "spec_version": Label("评价指标版本", "Version of the indicators"),
        "statistics_values": Label("统计数据中的评价数值", "Values from the statistics"),
        "statistics_year": Label("所用统计年度", "Statistics year used"),
        "last_values": Label("上年数值", "Last year's values"),
        "assessment": Label("县（区）自评数值", "The county's values"),
        "group_texts": Label("分组自评说明", "The county's text per group"),
        "group_evidence": Label("分组证明材料", "The county's evidence per group"),
        "targets": Label("目标值", "Targets"),
        "unit_values": Label("成员单位评价数值", "The member unit's values"),
        "indicator": Label("评价指标", "Indicator"),
        "value": Label("数值", "Value"),
        "points": Label("得分", "Score"),
        "rank": Label("排名", "Rank"),
        "outcome": Label("评价结果", "Outcome"),
        "evaluation_id": Label("年度评价案件", "Annual evaluation"),
        "ranking_id": Label("年度评价排名", "Annual evaluation ranking"),
    })
