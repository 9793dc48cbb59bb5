"""MobileNetV2 (ImageNet weights): top-1 agreement with fp32 against MACs removed, on 300 real
inputs (scikit-image photos cropped, flipped and scaled by sparsegate.compression.calibration), reported
on all of them and on those where fp32 is confident (top probability >= 0.5).

    python scripts/compression_mobilenetv2.py [--out DIR] [--n 300]

Channel statistics come from 32 other variants of the photos (another seed), the
sensitivities and the accuracy-budget search from 64 more (a third seed): the 300 evaluation
inputs are never used for calibration. Writes mobilenetv2_curves.json and .png to DIR."""
import argparse
import json
import time
from pathlib import Path

import sparsegate as sg
from sparsegate import zoo
from sparsegate.compression import calibration as cal
from sparsegate.compression.runner import run_outputs
from sparsegate.macs import graph_macs
from sparsegate.metrics import softmax, top1_agreement
from sparsegate.passes import pruning, pruning_budget

RATIOS = (0.02, 0.05, 0.1, 0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="/tmp/sparsegate-compression")
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    g = sg.convert(zoo.fetch("mobilenetv2"), metadata=zoo.info("mobilenetv2"))
    pre = g.metadata["preprocess"]
    ev, stats_x, tune_x = cal.photo_inputs(pre, args.n, seed=2), cal.photo_inputs(pre, 32, seed=1), \
        cal.photo_inputs(pre, 64, seed=3)
    ref = run_outputs(g, ev)
    confident = softmax(ref).max(axis=1) >= 0.5
    print(f"{args.n} inputs, {int(confident.sum())} confident (fp32 top prob >= 0.5)")
    stats = pruning.channel_stats(g, [{"input": stats_x[i:i + 1]} for i in range(len(stats_x))])
    base_macs = graph_macs(g)

    def measure(p):
        o = run_outputs(p, ev)
        return {"macs_removed": 1 - graph_macs(p) / base_macs, "all": top1_agreement(ref, o),
                "confident": top1_agreement(ref, o, confident)}
    configs = {"L1, no compensation": ("l1", None), "L1, bias folding": ("l1", stats.without_covs()),
               "activation, bias folding": ("activation", stats.without_covs()),
               "activation, linear (default)": ("activation", stats)}
    curves = {}
    for name, (crit, st) in configs.items():
        groups = pruning.channel_groups(g, stats.stds if crit == "activation" else None)
        curves[name] = [{"ratio": r, **measure(pruning.prune(g, r, st, groups))} for r in RATIOS]
    print("\n| uniform ratio | MACs removed | " + " | ".join(f"{c} (all / confident)" for c in configs) + " |")
    print("|---|---|" + "---|" * len(configs))
    for k, r in enumerate(RATIOS):
        print(f"| {r:.2f} | {curves[next(iter(curves))][k]['macs_removed']:.1%} | " +
              " | ".join(f"{c[k]['all']:.3f} / {c[k]['confident']:.3f}" for c in curves.values()) + " |")
    groups = pruning.channel_groups(g, stats.stds)
    tune_ref = run_outputs(g, tune_x)
    tune = lambda p: top1_agreement(tune_ref, run_outputs(p, tune_x))  # noqa: E731
    rows = pruning_budget.sensitivity(g, tune, stats, groups, ratios=(0.05, 0.1, 0.25))
    budgets = []
    for budget in (0.02, 0.05, 0.1):
        plan, tuned = pruning_budget.budget_plan(g, tune, rows, 1.0, budget, stats, groups)
        budgets.append({"budget": budget, "plan": plan, "tune_agreement": tuned,
                        **measure(pruning.prune(g, plan, stats, groups))})
    print("\naccuracy budget (agreement on 64 calibration photos; measured on the evaluation inputs):")
    print("| budget | MACs removed | calib agreement | all | confident | groups pruned |\n|---|---|---|---|---|---|")
    for b in budgets:
        print(f"| {b['budget'] * 100:.0f} pt | {b['macs_removed']:.1%} | {b['tune_agreement']:.3f} | "
              f"{b['all']:.3f} | {b['confident']:.3f} | {len(b['plan'])} |")
    (out / "mobilenetv2_curves.json").write_text(json.dumps(
        {"n": args.n, "confident": int(confident.sum()), "curves": curves, "sensitivity": rows,
         "budgets": budgets}, indent=1))
    _plot(out / "mobilenetv2_curves.png", curves, budgets)
    print(f"\n{time.time() - t0:.0f} s; wrote {out}/mobilenetv2_curves.json and .png")


def _plot(path, curves, budgets):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, key in zip(axes, ("all", "confident")):
        for name, c in curves.items():
            ax.plot([0] + [100 * p["macs_removed"] for p in c], [1] + [p[key] for p in c], "-o", ms=3, label=name)
        ax.plot([100 * b["macs_removed"] for b in budgets], [b[key] for b in budgets], "k*", ms=10, label="budget plans")
        ax.set_title(f"{key} inputs")
        ax.set_xlabel("MACs removed (%)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("top-1 agreement with fp32")
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=100, bbox_inches="tight")


if __name__ == "__main__":
    main()
