"""Fashion-MNIST CNN: test accuracy (all 10,000 test images, wasm runtime) against MACs removed.

    python scripts/compression_fashion.py [--out DIR]

Calibration uses training images only: 256 for channel statistics, 2,000 (with their labels)
for the per-group sensitivities and the accuracy-budget search. Prints the tables of
docs/compression.md and writes fashion_curves.json and fashion_curves.png to DIR."""
import argparse
import json
import time
from pathlib import Path

import numpy as np

import sparsegate as sg
from sparsegate import zoo
from sparsegate.compression.runner import run_outputs
from sparsegate.macs import graph_macs
from sparsegate.passes import pruning, pruning_budget
from sparsegate.zoo import fashion_mnist

RATIOS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="/tmp/sparsegate-compression")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    g = sg.convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn"))
    x, y = fashion_mnist.load_inputs("train")
    xt, yt = fashion_mnist.load_inputs("test")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    stats_x, tune_x, tune_y = x[idx[:256]], x[idx[256:2256]], y[idx[256:2256]]
    stats = pruning.channel_stats(g, [{"input": stats_x[i:i + 1]} for i in range(len(stats_x))])
    test_acc = lambda graph: float((run_outputs(graph, xt).argmax(1) == yt).mean())  # noqa: E731
    tune_acc = lambda graph: float((run_outputs(graph, tune_x).argmax(1) == tune_y).mean())  # noqa: E731
    base_macs, base = graph_macs(g), test_acc(g)
    print(f"fp32: test accuracy {base:.4f}, {base_macs:,} MACs")
    configs = {"L1 ranking, no compensation": ("l1", None),
               "L1 ranking, bias folding (means)": ("l1", stats.without_covs()),
               "activation ranking, bias folding (means)": ("activation", stats.without_covs()),
               "activation ranking, linear compensation (default)": ("activation", stats)}
    curves = {}
    for name, (crit, st) in configs.items():
        groups = pruning.channel_groups(g, stats.stds if crit == "activation" else None)
        curves[name] = []
        for r in RATIOS:
            p = pruning.prune(g, r, st, groups)
            curves[name].append({"ratio": r, "macs_removed": 1 - graph_macs(p) / base_macs, "accuracy": test_acc(p)})
    print("\n| uniform ratio | MACs removed | " + " | ".join(configs) + " |")
    print("|---|---|" + "---|" * len(configs))
    for k, r in enumerate(RATIOS):
        print(f"| {r:.2f} | {curves[next(iter(curves))][k]['macs_removed']:.1%} | " +
              " | ".join(f"{c[k]['accuracy']:.4f}" for c in curves.values()) + " |")
    groups = pruning.channel_groups(g, stats.stds)
    rows = pruning_budget.sensitivity(g, tune_acc, stats, groups, ratios=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6))
    tune_base = tune_acc(g)
    budgets = []
    for budget in (0.005, 0.01, 0.02):
        plan, tuned = pruning_budget.budget_plan(g, tune_acc, rows, tune_base, budget, stats, groups)
        p = pruning.prune(g, plan, stats, groups)
        budgets.append({"budget": budget, "plan": plan, "macs_removed": 1 - graph_macs(p) / base_macs,
                        "train_accuracy": tuned, "test_accuracy": test_acc(p)})
    print(f"\naccuracy budget (chosen on 2,000 training images, base {tune_base:.4f}; test base {base:.4f}):")
    print("| budget | MACs removed | train acc | test acc | test drop | plan |\n|---|---|---|---|---|---|")
    for b in budgets:
        plan = ", ".join(f"{k}: {v}" for k, v in b["plan"].items())
        print(f"| {b['budget'] * 100:.1f} pt | {b['macs_removed']:.1%} | {b['train_accuracy']:.4f} | "
              f"{b['test_accuracy']:.4f} | {(base - b['test_accuracy']) * 100:.2f} pt | {plan} |")
    best = max((p for c in curves.values() for p in c if base - p["accuracy"] <= 0.01),
               key=lambda p: p["macs_removed"], default=None)
    print(f"\nlargest uniform-curve reduction within 1 point on test: {best}")
    (out / "fashion_curves.json").write_text(json.dumps(
        {"base": base, "curves": curves, "sensitivity": rows, "budgets": budgets}, indent=1))
    _plot(out / "fashion_curves.png", base, curves, budgets)
    print(f"\n{time.time() - t0:.0f} s; wrote {out}/fashion_curves.json and .png")


def _plot(path, base, curves, budgets):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, c in curves.items():
        ax.plot([0] + [100 * p["macs_removed"] for p in c], [base] + [p["accuracy"] for p in c], "-o", ms=3, label=name)
    ax.plot([100 * b["macs_removed"] for b in budgets], [b["test_accuracy"] for b in budgets], "k*", ms=10,
            label="accuracy-budget plans")
    ax.axhline(base - 0.01, color="gray", ls=":", label="fp32 − 1 point")
    ax.set_xlabel("MACs removed (%)")
    ax.set_ylabel("test accuracy (10,000 images)")
    ax.set_ylim(max(0.0, base - 0.3), base + 0.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=100, bbox_inches="tight")


if __name__ == "__main__":
    main()
