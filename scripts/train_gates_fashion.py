#!/usr/bin/env python3
"""Fine-tune the zoo's Fashion-MNIST CNN (92.30%) with learned gates, static channel pruning, or
nothing (the dense baseline), all by the same recipe (distillation from the original model,
labels optional), and measure test accuracy and MACs per run on the full 10,000-image test set.

    python scripts/train_gates_fashion.py --mode gated                # learned gates, labels
    python scripts/train_gates_fashion.py --mode gated --no-labels    # distillation only
    python scripts/train_gates_fashion.py --mode dense                # dense, same recipe
    python scripts/train_gates_fashion.py --mode static --match R.json # static pruning, same MACs

Results go to --json (default /tmp/sparsegate-train/fashion_<mode>.json); --sgm writes the
model. Needs torch (pip install sparsegate[train]) and Debian's dataset-fashion-mnist.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))  # run from a checkout without installing

import numpy as np  # noqa: E402

import sparsegate  # noqa: E402
from sparsegate import zoo  # noqa: E402
from sparsegate.format import write_model  # noqa: E402
from sparsegate.zoo import fashion_mnist  # noqa: E402


def parse_budget(text: str, layers: list[str]):
    values = [float(v) for v in text.split(",")]
    if len(values) == 1:
        values = values * len(layers)
    if len(values) != len(layers):
        raise SystemExit(f"--sparsity: {len(values)} values for {len(layers)} layers {layers}")
    return dict(zip(layers, values))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["gated", "dense", "static"], default="gated")
    ap.add_argument("--no-labels", action="store_true", help="distillation only (unlabeled inputs)")
    ap.add_argument("--epochs", type=float, default=20)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--shift", type=int, default=0, help="random translations by up to N pixels while training")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--sparsity", default="0,0.5625,0.5625",
                    help="gate budget per gated conv (or one for all): fraction of channels always skipped")
    ap.add_argument("--l1", type=float, default=0.0, help="L1 weight on gate values (input-adaptive budgets)")
    ap.add_argument("--adaptive", type=float, help="budgets are means over inputs; each input skips at least "
                    "this fraction of its budget (input-adaptive, gates.GateSchedule)")
    ap.add_argument("--threshold", type=float, default=0.0, help="gate_threshold of the exported gates")
    ap.add_argument("--match", type=pathlib.Path, help="static: keep per layer the mean kept channels of this gated run's JSON")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=pathlib.Path)
    ap.add_argument("--sgm", type=pathlib.Path, help="write the fine-tuned model here")
    ap.add_argument("--checkpoint", type=pathlib.Path, help="checkpoint file (resumed when it exists)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)

    import torch
    from sparsegate.train import gates, loop, recipes

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    graph = sparsegate.convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn"))
    x_train, y_train = (torch.from_numpy(a) for a in fashion_mnist.load_inputs("train"))
    x_test, y_test = (torch.from_numpy(a) for a in fashion_mnist.load_inputs("test"))
    labels = None if args.no_labels else y_train
    cfg = loop.FitConfig(epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed, flip=True,
                         shift=args.shift,
                         checkpoint=str(args.checkpoint) if args.checkpoint else None, resume=True,
                         progress=not args.quiet)
    teacher_acc = loop.accuracy(recipes.frozen(graph), x_test, y_test)
    layers = gates.gateable(graph)
    t0 = time.time()
    result = {"mode": args.mode, "labels": not args.no_labels, "epochs": args.epochs, "lr": args.lr,
              "shift": args.shift,
              "batch": args.batch, "seed": args.seed, "original_accuracy": teacher_acc,
              "command": " ".join(["python scripts/train_gates_fashion.py", *sys.argv[1:]])}
    if args.mode == "gated":
        budgets = parse_budget(args.sparsity, layers)
        student = recipes.learned_gates(graph, x_train, labels, cfg, budgets, l1=args.l1,
                                        threshold=args.threshold, adaptive=args.adaptive)
        stats = gates.gate_statistics(student, x_test)
        skipped = stats.pop("skipped_per_input")
        stats["skipped_histogram"] = np.histogram(skipped, bins=10, range=(0, 1))[0].tolist()
        result.update(budgets=budgets, l1=args.l1, threshold=args.threshold, adaptive=args.adaptive, **stats)
    elif args.mode == "dense":
        student = recipes.dense(graph, x_train, labels, cfg)
        result.update(macs_dense=int(sum(recipes.node_macs(graph, n) for n in graph.nodes)))
    else:
        if args.match is None:
            raise SystemExit("--mode static needs --match GATED_RESULT.json (the MACs to match)")
        ref = json.loads(args.match.read_text())
        keep = {name: max(1, int(round(v["mean_kept"]))) for name, v in ref["layers"].items()}
        student, _ = recipes.static_pruning(graph, x_train, labels, cfg, keep)
        dense_macs, executed = recipes.pruned_macs(graph, keep)
        result.update(keep=keep, matched=str(args.match), macs_dense=dense_macs, macs_mean=executed,
                      skipped_mean=1 - executed / dense_macs,
                      gated_skipped_mean=ref["skipped_mean"])
    result["accuracy"] = loop.accuracy(student, x_test, y_test)
    result["drop_vs_original_points"] = round(100 * (teacher_acc - result["accuracy"]), 2)
    result["train_seconds"] = round(time.time() - t0, 1)
    if args.sgm:
        write_model(student.to_graph(), args.sgm)
        result["sgm_bytes"] = args.sgm.stat().st_size
    out = args.json or pathlib.Path("/tmp/sparsegate-train") / f"fashion_{args.mode}{'_nolabels' if args.no_labels else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "layers"}, indent=1))
    if "layers" in result:
        for name, v in result["layers"].items():
            print(f"  {name}: {v}")
    return result


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
