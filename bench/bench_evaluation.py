"""Scoring and ranking the annual evaluation: 1,000 towns × 40 indicators (target: under 1 s).

    .venv/bin/python bench/bench_evaluation.py [--towns 1000] [--rounds 5]

The spec is built here (8 groups of 5 indicators, 100 points, every kind of rule: linear, steps, yes_no, growth,
target_share) and checked by the same loader as definitions/evaluation.yaml. Each town gets random values (seeded),
last year's values and targets. Timed, in alternating rounds so that other load on the machine falls on both sides:

- the evaluation: `score_town` for every town (each indicator's points as Decimal with its explanation in Chinese
  and English), `rank` (ties broken by the tie-breakers) and `outcomes` (praise, 督办, revocation proposals);
- the baseline: the same arithmetic on floats in one plain loop, no explanations, a plain sort by total.

Prints the median and the worst round of each side, and exits 1 when the evaluation's median reaches 1 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflow.evaluation.indicators import EvaluationSpec, Indicator, parse_evaluation
from workflow.evaluation.scoring import outcomes, rank, score_town

TARGET_S = 1.0
KINDS = ("linear", "steps", "yes_no", "growth", "target_share")


def build_spec() -> EvaluationSpec:
    """8 groups × 5 indicators of 2.5 points each: 100 points, each group with one indicator of every kind."""
    lines = ["key: evaluation", "version: 1", "label: {zh: 基准, en: Bench}", "document: bench", "total: 100",
             "groups:"]
    for g in range(8):
        lines += [f"  - key: g{g}", f"    label: {{zh: 组{g}, en: Group {g}}}", "    points: 12.5", "    indicators:"]
        for k, kind in enumerate(KINDS):
            rule = {
                "linear": "{kind: linear, low: 10, high: 50}",
                "steps": "{kind: steps, steps: [{at: 1, points: 1}, {at: 3, points: 2}, {at: 5, points: 2.5}]}",
                "yes_no": "{kind: yes_no}",
                "growth": "{kind: growth, steps: [{at: 0, points: 1}, {at: 5, points: 2}, {at: 10, points: 2.5}]}",
                "target_share": "{kind: target_share, floor: 60}",
            }[kind]
            lines += [f"      - key: i{g}_{k}", f"        label: {{zh: 指标{g}{k}, en: Indicator {g}{k}}}",
                      "        points: 2.5", "        provider: county", f"        rule: {rule}",
                      "        evidence: {zh: 证明材料, en: Evidence}", "        clause: 六(五)"]
            if kind != "yes_no":
                lines.append("        unit: {zh: 个, en: units}")
    lines += ["ranking:", "  tie_breakers: [{group: g0}, {value: i0_0}]", "  praise: {top: 10, min_total: 60}",
              "  supervise: {bottom: 10}", "  revoke: {bottom_years: 2, below: 30}"]
    return parse_evaluation("\n".join(lines) + "\n", "bench.yaml")


def make_towns(spec: EvaluationSpec, count: int) -> list[tuple[int, dict, dict, dict]]:
    rnd = random.Random(16)
    towns = []
    for n in range(count):
        values: dict = {}
        last: dict = {}
        targets: dict = {}
        for ind in spec.indicators:
            kind = ind.rule.kind
            if kind == "yes_no":
                values[ind.key] = rnd.random() < 0.6
            elif kind == "linear":
                values[ind.key] = rnd.randint(0, 6000) / 100
            elif kind == "steps":
                values[ind.key] = rnd.randint(0, 7)
            elif kind == "growth":
                last[ind.key] = rnd.randint(0, 400)
                values[ind.key] = rnd.randint(0, 480)
            else:
                targets[ind.key] = rnd.randint(500, 1500)
                values[ind.key] = rnd.randint(200, 1600)
        towns.append((n, values, last, targets))
    return towns


def evaluate(spec: EvaluationSpec, towns: list[tuple[int, dict, dict, dict]]) -> tuple[int, int]:
    scored = [score_town(spec, values, town=n, name=f"镇{n}", last_values=last, targets=targets)
              for n, values, last, targets in towns]
    ranked = rank(spec, scored)
    result = outcomes(spec, ranked, history=[{ranked[-1].town.town}])
    return len(ranked), len(result.praised) + len(result.supervised)


def _plain(ind: Indicator, value, last, target) -> float:
    rule, points = ind.rule, float(ind.points)
    if rule.kind == "yes_no":
        return points if value else 0.0
    if rule.kind == "linear":
        low, high = float(rule.low or 0), float(rule.high or 0)
        return 0.0 if value <= low else points if value >= high else points * (value - low) / (high - low)
    if rule.kind == "target_share":
        share = value * 100 / target
        return points if share >= 100 else 0.0 if share < float(rule.floor) else points * share / 100
    if rule.kind == "growth":
        if last == 0:
            return float(rule.steps[-1].points) if value > 0 else float(rule.steps[0].points)
        value = (value - last) * 100 / last
    got = 0.0
    for step in rule.steps:
        if value >= float(step.at):
            got = float(step.points)
    return got


def baseline(spec: EvaluationSpec, towns: list[tuple[int, dict, dict, dict]]) -> int:
    indicators = spec.indicators
    totals = []
    for n, values, last, targets in towns:
        total = 0.0
        for ind in indicators:
            total += _plain(ind, values[ind.key], last.get(ind.key), targets.get(ind.key))
        totals.append((-total, n))
    totals.sort()
    return len(totals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    spec = build_spec()
    towns = make_towns(spec, args.towns)
    assert len(spec.indicators) == 40
    sides: dict[str, list[float]] = {"evaluation (Decimal, explanations, rank, outcomes)": [],
                                     "baseline (floats, plain loop, sort)": []}
    evaluate(spec, towns[:10])  # warm up
    for _ in range(args.rounds):
        start = time.perf_counter()
        ranked, _taken = evaluate(spec, towns)
        sides["evaluation (Decimal, explanations, rank, outcomes)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert baseline(spec, towns) == ranked
        sides["baseline (floats, plain loop, sort)"].append(time.perf_counter() - start)
    print(f"{args.towns} towns × {len(spec.indicators)} indicators, {args.rounds} rounds")
    for name, times in sides.items():
        print(f"  {name:<55} median {statistics.median(times) * 1000:8.1f} ms   worst {max(times) * 1000:8.1f} ms")
    median = statistics.median(sides["evaluation (Decimal, explanations, rank, outcomes)"])
    ok = median < TARGET_S
    print(f"target: under {TARGET_S:.0f} s — {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
