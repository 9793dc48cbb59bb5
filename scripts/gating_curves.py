"""Post-training gating curves (docs/gating.md): agreement with the ungated fp32 model versus
the fraction of MACs skipped (the runtime's counter), for expected-value fill and bias fill.

MobileNetV2: top-1 agreement on the scikit-image photos of `sparsegate.vision.images.sample_images()`,
each as 8 views (4 crops × horizontal flip). YOLOv8n: mAP@0.5 against the fp32 model's own
detections (score ≥ 0.25) on the same photos. Heuristic gates at knob 1.

- Uniform: every gateable conv (`gateable_convs`: not the first conv, not depthwise, not a
  detection-head output conv) at one sparsity; scored on all 80 inputs and on the held-out 40.
- Calibrated: `calibrate_gates` (spread scale) at each budget of metric drop, on the views of
  the 5 photos in CALIB_PHOTOS; MACs skipped and the metric on the other 5 photos' views. One
  sensitivity sweep per model and fill serves every budget (`sweep=`).

    python3 scripts/gating_curves.py [--models mobilenetv2 yolov8n] [--out docs/img/gating_curves.png]
    python3 scripts/gating_curves.py --fashion     # calibrated Fashion-MNIST CNN, 10k test set
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pytools"))

from sparsegate import zoo  # noqa: E402
from sparsegate.compression.conversion import convert  # noqa: E402
from sparsegate.compression.runner import wasm_runner  # noqa: E402
from sparsegate.metrics import top1_agreement  # noqa: E402
from sparsegate.passes.gating import add_gates, calibrate_gates, gateable_convs, gated_layers  # noqa: E402
from sparsegate.vision.detect import decode, iou_one_to_many  # noqa: E402
from sparsegate.vision.images import preprocess, sample_images  # noqa: E402

LEVELS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
# Calibration half: YOLOv8n's fp32 detections (score ≥ 0.25) alternate between the halves
# (astronaut 15 boxes, rocket 1, moon 9 here; chelsea 5, camera 16 held out).
CALIB_PHOTOS = ("astronaut", "coffee", "rocket", "moon", "page")
BUDGETS = (0.01, 0.02, 0.05, 0.1, 0.2)
CAL_LEVELS = {"mobilenetv2": (0.05, 0.1, 0.2, 0.3, 0.5), "yolov8n": (0.1, 0.2, 0.3)}
CAL_FILLS = {"mobilenetv2": ("expected", "bias"), "yolov8n": ("expected",)}
SCALE_SAMPLES = 40
T0 = time.time()


def say(msg: str) -> None:
    print(f"[{(time.time() - T0) / 60:5.1f} min] {msg}", flush=True)


def views(rgb: np.ndarray) -> list[np.ndarray]:
    h, w = rgb.shape[:2]
    ch, cw = int(h * 0.85), int(w * 0.85)
    crops = [rgb[:ch, :cw], rgb[:ch, w - cw:], rgb[h - ch:, :cw], rgb[h - ch:, w - cw:]]
    return [v for c in crops for v in (c, c[:, ::-1])]


def feeds_for(name: str, meta: dict) -> tuple[list[dict], list[str]]:
    """The 80 feeds (10 photos × 8 views) and, per feed, its photo's name."""
    inp = meta["inputs"][0]["name"]
    out, photos = [], []
    for photo, rgb in sample_images().items():
        for v in views(rgb):
            x, _ = preprocess(np.ascontiguousarray(v), meta["preprocess"])
            out.append({inp: x})
            photos.append(photo)
    return out, photos


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


def curve(name: str, budgets=BUDGETS, cal_fills=None) -> dict:
    meta = zoo.info(name)
    graph = convert(zoo.fetch(name), metadata=meta)
    feeds, photos = feeds_for(name, meta)
    calib = [i for i, p in enumerate(photos) if p in CALIB_PHOTOS]
    held = [i for i, p in enumerate(photos) if p not in CALIB_PHOTOS]
    layers = gateable_convs(graph)
    if name == "yolov8n":
        def score(ref, got):
            return ap50([decode(meta, o) for o in ref], [decode(meta, o) for o in got])
        metric = "mAP@0.5 vs fp32 detections"
    else:
        score = top1_agreement  # the single output: logits
        metric = "top-1 agreement with fp32"
    ref = wasm_runner(graph, feeds)
    ref_held = [ref[i] for i in held]
    res = {"model": name, "metric": metric, "samples": len(feeds), "held_out": len(held),
           "layers": len(layers), "fills": {}, "calibrated": {}}
    for fill in ("expected", "bias"):
        pts = []
        for s in LEVELS:
            g = add_gates(graph, {n: s for n in layers}, fill=fill)
            outs, frac = wasm_runner(g, feeds, stats=True)
            pts.append({"sparsity": s, "macs_skipped": 1 - frac, "score": score(ref, outs),
                        "score_held_out": score(ref_held, [outs[i] for i in held])})
            say(f"{name} uniform {fill:8} s={s:.2f}: {100 * (1 - frac):5.1f}% MACs skipped, {metric} "
                f"{pts[-1]['score']:.3f} (held-out {pts[-1]['score_held_out']:.3f})")
        res["fills"][fill] = pts
    calib_feeds, held_feeds = [feeds[i] for i in calib], [feeds[i] for i in held]
    for fill in cal_fills or CAL_FILLS.get(name, ("expected",)):
        sweep, pts = {}, []
        for b in sorted(budgets):
            say(f"{name} calibrating, {fill} fill, budget {b}")
            g = calibrate_gates(graph, calib_feeds, budget=b, metric=score, fill=fill,
                                levels=CAL_LEVELS.get(name, (0.1, 0.2, 0.3)),
                                scale_samples=SCALE_SAMPLES, sweep=sweep, verbose=True, runner=wasm_runner)
            outs, frac = wasm_runner(g, held_feeds, stats=True)
            info = g.metadata["gating"]
            pts.append({"budget": b, "macs_skipped": 1 - frac, "score": score(ref_held, outs),
                        "calib_loss": info["calib_loss"], "layers": gated_layers(g)})
            say(f"{name} calibrated {fill:8} budget {b:.2f}: {len(pts[-1]['layers'])} layers gated, "
                f"calibration loss {info['calib_loss']:.3f}; held-out: {100 * (1 - frac):5.1f}% MACs "
                f"skipped, {metric} {pts[-1]['score']:.3f}")
        res["calibrated"][fill] = pts
    return res


def fashion(budgets=(0.01, 0.03, 0.05), n_calib: int = 1000) -> dict:
    """Post-training calibration of the Fashion-MNIST CNN on `n_calib` training images at each
    top-1 agreement budget, then test accuracy and MACs skipped (runtime counter, mean) on all
    10k test images."""
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
        gated = calibrate_gates(graph, xtr[:n_calib], budget=b, fill="expected", runner=wasm_runner)
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
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), dpi=90)
    colors = {"expected": "C0", "bias": "C1"}
    for ax, r in zip(np.atleast_1d(axes), results):
        cal = [100 * p["macs_skipped"] for pts in r["calibrated"].values() for p in pts]
        xmax = max([15.0] + [1.2 * x for x in cal])
        cut = 0
        for fill, pts in r["fills"].items():
            shown = [p for p in pts if 100 * p["macs_skipped"] <= xmax]
            cut += len(pts) - len(shown)
            ax.plot([100 * p["macs_skipped"] for p in shown], [p["score_held_out"] for p in shown], "o--",
                    color=colors[fill], alpha=0.6, ms=4, label=f"uniform sparsity, {fill} fill")
        for fill, pts in r["calibrated"].items():
            none = all(not p["layers"] for p in pts)
            ax.plot([0.0] + [100 * p["macs_skipped"] for p in pts], [1.0] + [p["score"] for p in pts], "s-",
                    color=colors[fill], ms=5,
                    label=f"calibrated, {fill} fill" + (": nothing gated at any budget" if none else ""))
            for p in pts:  # label the budgets that gate something
                if p["layers"]:
                    ax.annotate(f"{p['budget']:g}", (100 * p["macs_skipped"], p["score"]), fontsize=7,
                                xytext=(3, 3), textcoords="offset points", color=colors[fill])
        title = f"{r['model']}: held-out {r['held_out']} inputs"
        if cut:
            title += f"\n(uniform points past {xmax:.0f}% off the plot)"
        ax.set_title(title, fontsize=9)
        ax.set_xlim(-0.5, xmax)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("% of MACs skipped (runtime counter)")
        ax.set_ylabel(r["metric"], fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="point labels: calibration budget", title_fontsize=7, loc="upper right",
                  bbox_to_anchor=(1.0, 0.88))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mobilenetv2", "yolov8n"])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs/img/gating_curves.png"))
    ap.add_argument("--json")
    ap.add_argument("--budgets", nargs="+", type=float, default=list(BUDGETS),
                    help="metric-drop budgets of the calibrated curves")
    ap.add_argument("--fashion", action="store_true", help="the calibrated Fashion-MNIST CNN instead")
    args = ap.parse_args()
    if args.fashion:
        res = fashion()
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
        return 0
    results = [curve(m, tuple(args.budgets)) for m in args.models]
    say("done")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    plot(results, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
