"""Which channels to prune: per-group sensitivity analysis and the accuracy-budget search.

    rows = sensitivity(graph, evaluate, stats, groups)          # each group alone, several ratios
    plan, metric = budget_plan(graph, evaluate, rows, base, 0.01, stats, groups)
    small = pruning.prune(graph, plan, stats, groups)

`evaluate(graph) -> float` is any metric where higher is better (accuracy, agreement).
"""
from __future__ import annotations

from ..ir import Graph
from ..macs import graph_macs
from .pruning import channel_groups, prune


def sensitivity(graph: Graph, evaluate, stats=None, groups=None, ratios=(0.1, 0.25, 0.5),
                progress=None) -> list[dict]:
    """Prunes each group alone at each ratio and measures `evaluate(pruned graph) -> float`
    (accuracy or agreement; higher is better). Rows: group, ratio, macs_removed, metric."""
    groups = channel_groups(graph) if groups is None else groups
    base = graph_macs(graph)
    jobs = [(g, r) for g in groups for r in ratios]
    rows = []
    for g, r in (progress(jobs) if progress else jobs):
        pruned = prune(graph, {g.name: r}, stats, groups)
        rows.append({"group": g.name, "ratio": float(r), "macs_removed": base - graph_macs(pruned),
                     "metric": float(evaluate(pruned))})
    return rows


def _greedy(rows: list[dict], base_metric: float, budget: float) -> dict[str, float]:
    """Per group, the largest ratio worth taking: repeatedly takes the next ratio step of the
    group that removes the most MACs per point of predicted loss, while the predicted losses
    (per-group drops, assumed additive) stay within `budget`."""
    ladders: dict[str, list[tuple[float, int, float]]] = {}
    for row in sorted(rows, key=lambda r: (r["group"], r["ratio"])):
        ladder = ladders.setdefault(row["group"], [])
        drop = max(0.0, base_metric - row["metric"], ladder[-1][2] if ladder else 0.0)
        ladder.append((row["ratio"], row["macs_removed"], drop))
    taken = {g: -1 for g in ladders}
    spent = 0.0
    while True:
        best, best_gain = None, -1.0
        for g, ladder in ladders.items():
            k = taken[g] + 1
            if k >= len(ladder):
                continue
            prev_macs, prev_drop = (ladder[k - 1][1], ladder[k - 1][2]) if k else (0, 0.0)
            d_macs, d_drop = ladder[k][1] - prev_macs, ladder[k][2] - prev_drop
            if d_macs <= 0 or spent + d_drop > budget:
                continue
            gain = d_macs / (d_drop + 1e-4)
            if gain > best_gain:
                best, best_gain = g, gain
        if best is None:
            break
        k = taken[best] = taken[best] + 1
        spent += ladders[best][k][2] - (ladders[best][k - 1][2] if k else 0.0)
    return {g: ladders[g][k][0] for g, k in taken.items() if k >= 0}


def budget_plan(graph: Graph, evaluate, rows: list[dict], base_metric: float, budget: float,
                stats=None, groups=None, tries: int = 6) -> tuple[dict[str, float], float]:
    """The plan ({group: ratio}) removing the most MACs whose whole-graph metric stays within
    `budget` of `base_metric`: greedy on the sensitivities, then verified on the whole graph;
    when the real loss exceeds the budget (losses do not add up exactly) the greedy runs again
    with half the budget, up to `tries` times. Returns (plan, measured metric)."""
    share = 1.0
    for _ in range(tries):
        plan = _greedy(rows, base_metric, budget * share)
        if not plan:
            break
        metric = float(evaluate(prune(graph, plan, stats, groups)))
        if base_metric - metric <= budget:
            return plan, metric
        share /= 2
    return {}, base_metric
