"""The `sparsegate` command line: convert, compress, report, inspect, run, demo."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from .. import __version__, zoo
from ..errors import SparsegateError
from ..macs import node_macs
from ..runtime import Session
from ..vision import detect, images
from . import bench, train_cli
from .extras import need
from .report import report
from .app import build_app
from .serve import Server
from .sources import load_graph, parse_shapes, resolve_source


def cmd_convert(args) -> int:
    need("convert", "sparsegate convert")
    from ..compression.conversion import convert  # onnx, the [convert] extra: checked above
    src, meta = resolve_source(args.model)
    out = Path(args.output or src.with_suffix(".sgm").name)
    if out.resolve() == src.resolve():
        raise SparsegateError(f"{out}: output would overwrite the input model")
    if out.exists() and not args.force:
        raise SparsegateError(f"{out} exists; pass --force to overwrite it")
    if args.metadata:
        meta = {**meta, **_json_object(args.metadata)}
    if args.labels:
        meta = {**meta, "labels": _labels_file(args.labels)}
    t0 = time.perf_counter()
    graph = convert(src, out, input_shapes=parse_shapes(args.input_shape), metadata=meta)
    print(f"{src} -> {out}: {len(graph.nodes)} nodes, {out.stat().st_size / 1e6:.2f} MB "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


def _json_object(path: str) -> dict:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise SparsegateError(f"--metadata {path}: cannot read ({e.strerror or e})") from None
    except (ValueError, RecursionError) as e:
        raise SparsegateError(f"--metadata {path}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise SparsegateError(f"--metadata {path}: expected a JSON object, got {type(value).__name__}")
    return value


def _labels_file(path: str) -> list[str]:
    """Class names, one per line (blank lines ignored), in class-index order."""
    try:
        labels = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise SparsegateError(f"--labels {path}: cannot read ({e})") from None
    if not labels:
        raise SparsegateError(f"--labels {path}: no labels (expected one class name per line)")
    return labels


def cmd_inspect(args) -> int:
    graph = load_graph(args.model)
    rows = []
    for node in graph.nodes:
        params = sum(graph.tensors[i].data.size for i in node.inputs if i and graph.tensors[i].is_constant)
        rows.append({"name": node.name, "op": node.op, "output": list(graph.tensors[node.outputs[0]].shape),
                     "params": int(params), "macs": int(node_macs(graph, node))})
    constants = [{"name": t.name, "dtype": str(t.data.dtype), "shape": list(t.shape), "bytes": int(t.data.nbytes)}
                 for t in graph.tensors.values() if t.is_constant]
    summary = {
        "inputs": [{"name": n, "shape": list(graph.tensors[n].shape)} for n in graph.inputs],
        "outputs": [{"name": n, "shape": list(graph.tensors[n].shape)} for n in graph.outputs],
        "ops": dict(Counter(n.op for n in graph.nodes)),
        "nodes": len(graph.nodes), "params": sum(r["params"] for r in rows),
        "macs": sum(r["macs"] for r in rows), "weight_bytes": sum(c["bytes"] for c in constants),
    }
    if args.json:
        print(json.dumps({"summary": summary, "nodes": rows, "constants": constants}, indent=1))
        return 0
    print(f"{args.model}")
    for key in ("inputs", "outputs"):
        for t in summary[key]:
            print(f"  {key[:-1]:6} {t['name']} {t['shape']}")
    print(f"  {summary['nodes']} nodes, {summary['params']:,} parameters, {summary['macs'] / 1e6:,.1f} M MACs, "
          f"{summary['weight_bytes'] / 1e6:.2f} MB of weights")
    print("  ops: " + ", ".join(f"{op}×{n}" for op, n in sorted(summary["ops"].items())))
    print(f"\n  {'node':40} {'op':18} {'output':22} {'params':>10} {'MACs':>14}")
    for r in rows:
        print(f"  {r['name'][:40]:40} {r['op']:18} {str(r['output']):22} {r['params']:>10,} {r['macs']:>14,}")
    if args.tensors:
        print(f"\n  {'constant':50} {'dtype':8} {'shape':22} {'bytes':>12}")
        for c in constants:
            print(f"  {c['name'][:50]:50} {c['dtype']:8} {str(c['shape']):22} {c['bytes']:>12,}")
    return 0


def _describe(meta: dict, outputs: dict, image_info, top: int) -> list[str]:
    """Human-readable result lines from the model's metadata (task, labels, postprocess)."""
    task = meta.get("task")
    first = next(iter(outputs.values()))
    if task == "classification":
        logits = np.asarray(first).reshape(-1).astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        labels = meta.get("labels") or [str(i) for i in range(len(probs))]
        return [f"{probs[i]:6.3f}  {labels[i]}  (class {i})" for i in np.argsort(-probs)[:top]]
    if task == "detection":
        found = detect.decode(meta, outputs, image_info)
        return [f"{d['score']:6.3f}  {d['label']}  box {[round(v, 1) for v in d['box']]}" for d in found] or ["nothing found"]
    return [f"{name}: shape {list(np.asarray(v).shape)}, first values {np.asarray(v).reshape(-1)[:5]}"
            for name, v in outputs.items()]


def _run_model(sgm: Path, image_arg: str | None, top: int, as_json: bool, gate: float | None = None) -> int:
    sess = Session(str(sgm))
    if gate is not None:
        sess.set_gate(gate)
    meta = sess.metadata
    name = sess.inputs[0]["name"]
    if image_arg is None or image_arg.endswith(".npy"):
        if image_arg is None:
            raise SparsegateError("pass --input IMAGE (a photo, or a .npy array of the input's shape)")
        x, info = np.load(image_arg).astype(np.float32), None
    else:
        if "preprocess" not in meta:
            raise SparsegateError(f"{sgm}: no preprocessing in its metadata; pass a .npy input instead")
        need("images", "sparsegate run --input IMAGE")
        x, info = images.preprocess(images.load_image(image_arg), meta["preprocess"])
    t0 = time.perf_counter()
    outputs = sess.run({name: x})
    ms = (time.perf_counter() - t0) * 1e3
    lines = _describe(meta, outputs, info, top)
    if as_json:
        print(json.dumps({"model": str(sgm), "input": image_arg, "ms": ms, "results": lines}))
    else:
        st = sess.stats()
        gated = "" if gate is None else f" of {st['macs_dense'] / 1e6:.1f} M dense at gate {gate:g}"
        print(f"{sgm.name} on {image_arg} ({ms:.1f} ms first run in wasm, {st['macs_executed'] / 1e6:.1f} M MACs{gated}):")
        for line in lines:
            print("  " + line)
    return 0


def cmd_run(args) -> int:
    return _run_model(Path(args.model), args.input, args.top, args.json, getattr(args, "gate", None))


def cmd_demo(args) -> int:
    """MobileNetV2 (real ImageNet weights) on a real photo, end to end through the wasm runtime."""
    need("demo", "sparsegate demo")
    from ..compression.conversion import convert  # onnx, the [convert] extra: checked above
    sgm = zoo.cache_dir() / "mobilenetv2.sgm"
    onnx_path = zoo.fetch("mobilenetv2")
    if not sgm.exists() or sgm.stat().st_mtime < onnx_path.stat().st_mtime:
        print(f"converting {onnx_path.name} -> {sgm}")
        convert(onnx_path, sgm, metadata=zoo.info("mobilenetv2"))
    photo = zoo.cache_dir() / "chelsea.png"
    if not photo.exists():
        images.save_image(images.sample_images()["chelsea"], photo)
    return _run_model(sgm, str(photo), 5, False)


def cmd_app(args) -> int:
    need("app", "sparsegate app")  # it converts and calibrates the app's models, saves sample photos
    build_app(Path(args.output), force=args.force)
    return 0


def cmd_serve(args) -> int:
    """Serves a static folder (by default the detection app, built into the zoo cache)."""
    if args.folder is None:
        need("app", "sparsegate serve")
        folder = build_app(zoo.cache_dir() / "app", force=True)
    else:
        folder = Path(args.folder)
        if not folder.is_dir():
            raise SparsegateError(f"{folder} is not a folder")
    server = Server(root=folder, port=args.port, verbose=True)
    print(f"serving {folder} at {server.url}/ (cross-origin isolated: threads work)")
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.close()
    return 0


def _compress_options(args) -> dict:
    prune = args.prune
    if prune is not None and args.accuracy_budget is not None:
        raise SparsegateError("pass --prune or --accuracy-budget, not both")
    return {"prune": prune, "accuracy_budget": args.accuracy_budget, "criterion": args.criterion, "fold": args.fold,
            "sparsity": args.sparsity, "block": tuple(int(v) for v in args.block.lower().split("x")),
            "quantize": args.quantize, "gate": args.gate, "calib": args.calib,
            "max_calib": args.max_calib, "progress": not args.quiet}


def cmd_compress(args) -> int:
    need("convert", "sparsegate compress")
    from ..compression.driver import compress  # onnx, Pillow, tqdm (the [convert] extra): checked above
    src, meta = resolve_source(args.model)
    out = Path(args.output or src.with_suffix(".sgm").name)
    if out.exists() and not args.force:
        raise SparsegateError(f"{out} exists; pass --force to overwrite it")
    rep = compress(src, out, metadata=meta, **_compress_options(args))
    print(rep.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(rep.to_dict(), indent=1, default=str))
    return 0


def cmd_report(args) -> int:
    need("report", "sparsegate report")
    src, meta = resolve_source(args.model)
    if args.calib is None:
        raise SparsegateError("report measures the model: pass --calib (a folder of images, .npz or .npy)")
    rep = report(src, args.output, dst=args.sgm, metadata=meta, **_compress_options(args))
    print(rep.summary())
    print(f"wrote {args.output}")
    return 0


def _add_compress_arguments(c) -> None:
    c.add_argument("model", help="path to .onnx, or a zoo name")
    c.add_argument("--calib", metavar="PATH", help="calibration data: a folder of images, an .npz or .npy [N, ...]")
    c.add_argument("--max-calib", type=int, default=256, metavar="N", help="use at most N calibration samples")
    c.add_argument("--prune", type=float, metavar="RATIO", help="remove this fraction of every channel group")
    c.add_argument("--accuracy-budget", type=float, metavar="DROP",
                   help="remove the most MACs with agreement/accuracy at most DROP lower (0.01 = 1 point)")
    c.add_argument("--criterion", choices=["activation", "l1"], default="activation",
                   help="channel ranking: error left after bias folding (needs --calib), or filter L1 norm")
    c.add_argument("--fold", choices=["linear", "mean", "none"], default="linear",
                   help="how the next layers compensate removed channels: least-squares estimate "
                        "from kept channels, mean (bias folding), or nothing")
    c.add_argument("--sparsity", type=float, help="block sparsity: fraction of weight blocks set to zero")
    c.add_argument("--block", default="1x4", help="block shape for --sparsity (1x4, 4x1, 8x1)")
    c.add_argument("--quantize", metavar="MODE", help="quantization mode (e.g. int8, fp16)")
    c.add_argument("--gate", type=float, help="gate budget (gated inference)")
    c.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sparsegate", description=__doc__)
    p.add_argument("--version", action="version", version=f"sparsegate {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert an ONNX model (or a zoo name) to .sgm")
    c.add_argument("model", help=f"path to .onnx, or a zoo name ({', '.join(zoo.names())})")
    c.add_argument("-o", "--output", help="output .sgm path (default: the model's name with .sgm)")
    c.add_argument("--input-shape", action="append", metavar="NAME=D0,D1,…",
                   help="fix a dynamic input shape (repeatable)")
    c.add_argument("--metadata", metavar="JSON_FILE", help="extra metadata (labels, preprocess) to embed")
    c.add_argument("--labels", metavar="TXT_FILE", help="class names, one per line (replaces the model's own)")
    c.add_argument("--force", action="store_true", help="overwrite an existing output file")
    c.set_defaults(func=cmd_convert)

    c = sub.add_parser("compress", help="prune, sparsify and quantize an ONNX model into .sgm")
    _add_compress_arguments(c)
    c.add_argument("-o", "--output", help="output .sgm path (default: the model's name with .sgm)")
    c.add_argument("--force", action="store_true", help="overwrite an existing output file")
    c.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    c.set_defaults(func=cmd_compress)

    rp = sub.add_parser("report", help="HTML page: accuracy vs MACs removed, bytes, layers")
    _add_compress_arguments(rp)
    rp.add_argument("-o", "--output", default="report.html", help="HTML file to write")
    rp.add_argument("--sgm", help="also write the compressed model here")
    rp.set_defaults(func=cmd_report)

    i = sub.add_parser("inspect", help="ops, parameters, MACs and bytes of an .sgm or .onnx model")
    i.add_argument("model")
    i.add_argument("--tensors", action="store_true", help="also list every constant tensor and its bytes")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=cmd_inspect)

    r = sub.add_parser("run", help="run an .sgm model on an image (preprocessing from its metadata)")
    r.add_argument("model")
    r.add_argument("--input", "-i", help="image file, or .npy array of the input's shape")
    r.add_argument("--top", type=int, default=5, help="how many classes to print (classification)")
    r.add_argument("--json", action="store_true")
    r.add_argument("--gate", type=float, metavar="G", help="gate knob of a gated model (docs/gating.md)")
    r.set_defaults(func=cmd_run)

    a = sub.add_parser("app", help="lay the detection app out as a folder any static server can host")
    a.add_argument("-o", "--output", default="sparsegate-app", help="folder to write (default: sparsegate-app)")
    a.add_argument("--force", action="store_true", help="rebuild a folder an earlier `sparsegate app` made")
    a.set_defaults(func=cmd_app)

    v = sub.add_parser("serve", help="serve a static folder on 127.0.0.1 with the headers threads need "
                                     "(default: the detection app)")
    v.add_argument("folder", nargs="?", help="folder to serve (default: build the detection app and serve it)")
    v.add_argument("--port", type=int, default=8000)
    v.set_defaults(func=cmd_serve)

    d = sub.add_parser("demo", help="MobileNetV2 on a real photo, through the wasm runtime")
    d.set_defaults(func=cmd_demo)

    train_cli.add_parser(sub)  # imports torch only when it runs
    bench.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SparsegateError as e:
        print(f"sparsegate {args.command}: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"sparsegate {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `sparsegate inspect m.sgm | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
