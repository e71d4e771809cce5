"""The annual evaluation of the professional towns (the plan, 六(五)): its indicators as data
(definitions/evaluation.yaml, loaded and checked by `indicators`), and the scoring, ranking and outcomes
(`scoring`), pure functions with no database. The campaign that collects the values comes next; until then this
package registers nothing and is not in workflow.processes.PACKAGES."""
