"""Post-training gating curves (docs/gating.md): agreement with the ungated fp32 model versus
the fraction of MACs skipped (the runtime's counter), for expected-value fill and bias fill.

MobileNetV2: top-1 agreement on the scikit-image photos of `sparsegate.images.sample_images()`,
each as 8 views (4 crops × horizontal flip). YOLOv8n: mAP@0.5 against the fp32 model's own
detections (score ≥ 0.25) on the same photos. Each point gates every gateable conv (not the
first conv, not depthwise) at one uniform sparsity; heuristic gate at knob 1.

    python3 scripts/gating_curves.py [--models mobilenetv2 yolov8n] [--out docs/img/gating_curves.png]
    python3 scripts/gating_curves.py --fashion     # calibrated Fashion-MNIST CNN, 10k test set
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pytools"))

from sparsegate import zoo  # noqa: E402
from sparsegate.conversion import convert  # noqa: E402
from sparsegate.detect import decode, iou_one_to_many  # noqa: E402
from sparsegate.images import preprocess, sample_images  # noqa: E402
from sparsegate.passes.gating import add_gates, gateable_convs, wasm_runner  # noqa: E402

LEVELS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def views(rgb: np.ndarray) -> list[np.ndarray]:
    h, w = rgb.shape[:2]
    ch, cw = int(h * 0.85), int(w * 0.85)
    crops = [rgb[:ch, :cw], rgb[:ch, w - cw:], rgb[h - ch:, :cw], rgb[h - ch:, w - cw:]]
    return [v for c in crops for v in (c, c[:, ::-1])]


def feeds_for(name: str, meta: dict) -> list[dict]:
    inp = meta["inputs"][0]["name"]
    out = []
    for rgb in sample_images().values():
        for v in views(rgb):
            x, _ = preprocess(np.ascontiguousarray(v), meta["preprocess"])
            out.append({inp: x})
    return out


def ap50(ref: list[dict], got: list[dict]) -> float:
    """mAP@0.5 of detections `got` against `ref` as ground truth, averaged over the classes
    present in `ref` (all-point interpolated AP)."""
    classes = sorted({d["class"] for dets in ref for d in dets})
    if not classes:
        return 1.0
    aps = []
    for c in classes:
        gts = [np.array([d["box"] for d in dets if d["class"] == c]).reshape(-1, 4) for dets in ref]
        n_gt = sum(len(g) for g in gts)
        preds = [(d["score"], i, np.array(d["box"])) for i, dets in enumerate(got) for d in dets if d["class"] == c]
        preds.sort(key=lambda p: -p[0])
        used = [np.zeros(len(g), bool) for g in gts]
        tp = []
        for _, i, box in preds:
            ok = False
            if len(gts[i]):
                iou = iou_one_to_many(box, gts[i])
                j = int(np.argmax(np.where(used[i], -1, iou)))
                if iou[j] >= 0.5 and not used[i][j]:
                    used[i][j], ok = True, True
            tp.append(ok)
        tp = np.array(tp, float)
        if not len(tp):
            aps.append(0.0)
            continue
        rec = np.cumsum(tp) / n_gt
        prec = np.cumsum(tp) / np.arange(1, len(tp) + 1)
        prec = np.maximum.accumulate(prec[::-1])[::-1]
        r = np.concatenate([[0], rec])
        aps.append(float(np.sum((r[1:] - r[:-1]) * prec)))
    return float(np.mean(aps))


def curve(name: str) -> dict:
    meta = zoo.info(name)
    graph = convert(zoo.fetch(name), metadata=meta)
    feeds = feeds_for(name, meta)
    layers = gateable_convs(graph)
    ref = wasm_runner(graph, feeds)
    if name == "yolov8n":
        ref_dets = [decode(meta, o) for o in ref]
        score = lambda outs: ap50(ref_dets, [decode(meta, o) for o in outs])  # noqa: E731
        metric = "mAP@0.5 vs fp32 detections"
    else:
        key = meta["outputs"][0]["name"]
        score = lambda outs: float(np.mean([np.argmax(a[key]) == np.argmax(b[key]) for a, b in zip(ref, outs)]))  # noqa: E731
        metric = "top-1 agreement with fp32"
    res = {"model": name, "metric": metric, "samples": len(feeds), "layers": len(layers), "fills": {}}
    for fill in ("expected", "bias"):
        pts = []
        for s in LEVELS:
            g = add_gates(graph, {n: s for n in layers}, fill=fill)
            outs, frac = wasm_runner(g, feeds, stats=True)
            pts.append({"sparsity": s, "macs_skipped": 1 - frac, "score": score(outs)})
            print(f"{name} {fill:8} s={s:.2f}: {100 * (1 - frac):5.1f}% MACs skipped, "
                  f"{metric} {pts[-1]['score']:.3f}", flush=True)
        res["fills"][fill] = pts
    return res


def fashion(budgets=(0.01, 0.03, 0.05), n_calib: int = 1000) -> dict:
    """Post-training calibration of the Fashion-MNIST CNN on `n_calib` training images at each
    top-1 agreement budget, then test accuracy and MACs skipped (runtime counter, mean) on all
    10k test images."""
    from sparsegate.passes.gating import calibrate_gates, gated_layers
    from sparsegate.zoo import fashion_mnist
    graph = convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn"))
    xtr, _ = fashion_mnist.load_inputs("train")
    xte, yte = fashion_mnist.load_inputs("test")
    test = [{"input": x[None]} for x in xte]

    def evaluate(g):
        outs, frac = wasm_runner(g, test, stats=True)
        return float(np.mean([np.argmax(o["logits"]) == t for o, t in zip(outs, yte)])), 1 - frac

    acc0, _ = evaluate(graph)
    print(f"fashion_cnn dense: test accuracy {100 * acc0:.2f}% (10k)")
    res = {"dense_accuracy": acc0, "calibrated": []}
    for b in budgets:
        gated = calibrate_gates(graph, xtr[:n_calib], budget=b, fill="expected")
        acc, skipped = evaluate(gated)
        res["calibrated"].append({"budget": b, "layers": gated_layers(gated), "accuracy": acc,
                                  "macs_skipped": skipped})
        print(f"  budget {b:.2f}: {gated_layers(gated)} -> test accuracy {100 * acc:.2f}% "
              f"({100 * (acc - acc0):+.2f} points), {100 * skipped:.1f}% of MACs skipped", flush=True)
    return res


def plot(results: list[dict], out: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.2), dpi=90)
    for ax, r in zip(np.atleast_1d(axes), results):
        for fill, pts in r["fills"].items():
            ax.plot([100 * p["macs_skipped"] for p in pts], [p["score"] for p in pts], "o-", label=f"{fill} fill")
        ax.set_title(r["model"], fontsize=10)
        ax.set_xlabel("% of MACs skipped")
        ax.set_ylabel(r["metric"], fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mobilenetv2", "yolov8n"])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs/img/gating_curves.png"))
    ap.add_argument("--json")
    ap.add_argument("--fashion", action="store_true", help="the calibrated Fashion-MNIST CNN instead")
    args = ap.parse_args()
    if args.fashion:
        res = fashion()
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
        return 0
    results = [curve(m) for m in args.models]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    plot(results, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
