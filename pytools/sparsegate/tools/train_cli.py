"""`sparsegate train`: fine-tune a model with learned gates, static channel pruning, or nothing
(dense, the baseline), by distillation from the original on unlabeled inputs (labels optional)."""
from __future__ import annotations

import json
import pathlib
import time

import numpy as np

from ..compression.runner import wasm_runner
from ..errors import InputError, SparsegateError
from ..format import write_model
from ..macs import graph_macs
from ..passes.block_sparsity import default_layers, encode_sparse
from ..passes.quantize import quantize
from .report import render_train_html
from .sources import load_graph


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="fine-tune with learned gates or pruning (needs torch: sparsegate[train])",
                       description=__doc__)
    t.add_argument("model", help="path to .onnx or .sgm, or a zoo name")
    t.add_argument("--data", required=True, help="folder of images, or .npy/.npz inputs (or a folder of them)")
    t.add_argument("--labels", help=".npy of integer class labels, one per input (optional)")
    t.add_argument("-o", "--output", required=True, help="the fine-tuned .sgm")
    t.add_argument("--mode", choices=["gated", "prune", "block", "dense"], default="gated")
    t.add_argument("--sparsity", type=float, default=0.5,
                   help="gated: channels each gated conv always skips; prune: channels removed per conv; "
                        "block: 4×1 weight blocks zeroed per layer")
    t.add_argument("--l1", type=float, default=0.0, help="gated: L1 weight on gate values (input-adaptive budgets)")
    t.add_argument("--threshold", type=float, default=0.0, help="gated: gate_threshold")
    t.add_argument("--epochs", type=float, default=2.0)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--loss", choices=["kl", "mse"], default=None,
                   help="distillation loss (default: kl for classifiers, mse otherwise)")
    t.add_argument("--int8", action="store_true",
                   help="prune/dense: then int8 (ConvInt8/GemmInt8) with quantization-aware training")
    t.add_argument("--qat-epochs", type=float, default=1.0, help="with --int8")
    t.add_argument("--flip", action="store_true", help="random horizontal flips while training")
    t.add_argument("--shift", type=int, default=0, metavar="N",
                   help="random translations by up to N pixels while training (the original model sees each view)")
    t.add_argument("--holdout", type=float, default=0.1, help="fraction of inputs kept for the summary")
    t.add_argument("--checkpoint", help="checkpoint file (default: OUTPUT.ckpt); an interrupted run resumes from it")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--report", metavar="HTML", help="also write an HTML page about the run (needs matplotlib)")
    t.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    try:  # torch: the optional [train] extra
        import torch

        from ..train import gates, recipes
        from ..train.data import load_inputs
        from ..train.loop import FitConfig
        from ..train.qat import qat
        from ..train.torch_exec import GraphModule
    except ImportError:
        raise SparsegateError("sparsegate train needs torch: pip install 'sparsegate[train]'") from None

    if args.int8 and args.mode not in ("prune", "dense"):
        raise InputError(f"--int8 goes with --mode prune or dense, not {args.mode}")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    graph = load_graph(args.model, convert_zoo=True)
    name = graph.inputs[0]
    x = load_inputs(args.data, graph.tensors[name].shape, graph.metadata.get("preprocess"))
    y = None
    if args.labels:
        y = np.load(args.labels).astype(np.int64).reshape(-1)
        if len(y) != len(x):
            raise InputError(f"{args.labels}: {len(y)} labels for {len(x)} inputs")
    order = np.random.default_rng(args.seed).permutation(len(x))
    n_hold = int(round(len(x) * args.holdout)) if len(x) > 10 else 0
    hold, train = order[:n_hold], order[n_hold:]
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y) if y is not None else None
    out_shape = graph.tensors[graph.outputs[0]].shape
    classifier = len(out_shape) == 2 and graph.metadata.get("task", "classification") == "classification"
    ckpt = args.checkpoint or f"{args.output}.ckpt"
    cfg = FitConfig(epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed, flip=args.flip,
                    shift=args.shift,
                    loss=args.loss or ("kl" if classifier else "mse"), checkpoint=ckpt,
                    resume=not args.restart, checkpoint_every=50)
    x_train = xt[torch.from_numpy(train)]
    y_train = yt[torch.from_numpy(train)] if yt is not None else None
    if y_train is not None and not classifier:
        raise InputError("--labels needs a classifier (one [N, classes] output)")
    print(f"{args.model}: {args.mode} fine-tuning on {len(train)} inputs "
          f"({'labels + ' if y is not None else ''}distillation), {len(hold)} held out; checkpoint {ckpt}")
    t0 = time.time()
    keep = None
    if args.mode == "gated":
        student = recipes.learned_gates(graph, x_train, y_train, cfg, args.sparsity, l1=args.l1,
                                        threshold=args.threshold)
    elif args.mode == "prune":
        layers = gates.gateable(graph)
        keep = {n: max(1, round(graph.tensors[next(nd for nd in graph.nodes if nd.name == n).inputs[1]].shape[0]
                               * (1 - args.sparsity))) for n in layers}
        student, pruner = recipes.static_pruning(graph, x_train, y_train, cfg, keep)
    elif args.mode == "block":
        plan = {n: args.sparsity for n in default_layers(graph, (4, 1))}
        student = recipes.block_sparse(graph, x_train, y_train, cfg, plan, (4, 1))
    else:
        student = recipes.dense(graph, x_train, y_train, cfg)
    out = student.to_graph()
    if args.mode == "block":
        out = encode_sparse(out, (4, 1))
    if args.mode == "prune":
        out, _ = recipes.remove_pruned(out, pruner.masks, x[train[:16]])
    if args.int8:
        print(f"int8: activation ranges from {min(len(train), 512)} inputs, then {args.qat_epochs:g} epochs of QAT")
        qcfg = FitConfig(**{**cfg.__dict__, "epochs": args.qat_epochs, "lr": args.lr / 10, "seed": args.seed + 1,
                            "checkpoint": f"{ckpt}.qat"})
        out = qat(out, quantize(out, "int8", x[train[:512]], runner=wasm_runner), x_train, y_train, qcfg, teacher=recipes.frozen(graph))
        out.metadata = dict(graph.metadata)
        student = GraphModule(out).eval()
    write_model(out, args.output)
    summary = {"model": args.model, "mode": args.mode, "output": args.output,
               "seconds": round(time.time() - t0, 1), "bytes": pathlib.Path(args.output).stat().st_size}
    layers, skipped = [], None
    if len(hold):
        xh = xt[torch.from_numpy(hold)]
        teacher = recipes.frozen(graph)
        with torch.no_grad():
            t_out, s_out = teacher(xh), student(xh)
        if args.mode == "gated":
            st = gates.gate_statistics(student, xh)
            summary.update(macs_dense=st["macs_dense"], macs_executed_mean=round(st["macs_mean"]),
                           macs_skipped_mean=round(st["skipped_mean"], 4),
                           macs_skipped_min=round(st["skipped_min"], 4))
            layers = [{"name": name, **v} for name, v in st["layers"].items()]
            skipped = st["skipped_per_input"]
        elif keep:
            dense, executed = graph_macs(graph), graph_macs(out)
            summary.update(macs_dense=dense, macs_executed=executed, macs_skipped=round(1 - executed / dense, 4))
        if classifier:
            summary["holdout_top1_agreement"] = round(float((t_out.argmax(1) == s_out.argmax(1)).float().mean()), 4)
            if yt is not None:
                yh = yt[torch.from_numpy(hold)]
                summary["holdout_accuracy"] = round(float((s_out.argmax(1) == yh).float().mean()), 4)
                summary["holdout_accuracy_original"] = round(float((t_out.argmax(1) == yh).float().mean()), 4)
        else:
            summary["holdout_relative_error"] = float((s_out - t_out).norm() / t_out.norm().clamp_min(1e-12))
    print(json.dumps(summary, indent=1))
    if args.report:
        pathlib.Path(args.report).write_text(render_train_html(summary, layers, skipped), encoding="utf-8")
        print(f"report: {args.report}")
    for done in (ckpt, f"{ckpt}.qat"):
        pathlib.Path(done).unlink(missing_ok=True)  # finished: nothing to resume
    return 0
