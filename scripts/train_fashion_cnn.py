#!/usr/bin/env python3
"""Train the small Fashion-MNIST CNN that ships in the model zoo, export it to ONNX and record
its test accuracy (measured with onnxruntime on all 10,000 test images).

    python scripts/train_fashion_cnn.py            # writes pytools/sparsegate/zoo/fashion_cnn.{onnx,json}

Needs torch (pip install torch==2.13.0), onnxruntime and Debian's dataset-fashion-mnist.
Runs on CPU in a few minutes with two threads.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))  # run from a checkout without installing

from sparsegate.zoo import fashion_mnist  # noqa: E402

# Input normalization: x = (pixel / 255 - MEAN) / STD, the training set's statistics.
MEAN, STD = 0.2860, 0.3530


def build_model(torch):
    nn = torch.nn

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(1, 16), nn.MaxPool2d(2),       # 28 -> 14
        *block(16, 32), nn.MaxPool2d(2),      # 14 -> 7
        *block(32, 64),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def normalize(images: np.ndarray) -> np.ndarray:
    return ((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out-dir", type=pathlib.Path, default=ROOT / "pytools" / "sparsegate" / "zoo")
    args = ap.parse_args()

    import torch
    import onnxruntime as ort

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)

    x_train, y_train = fashion_mnist.load("train")
    x_test, y_test = fashion_mnist.load("test")
    xt = torch.from_numpy(normalize(x_train))
    yt = torch.from_numpy(y_train)

    model = build_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps_per_epoch = (len(xt) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.epochs * steps_per_epoch)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(xt)))
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(steps_per_epoch):
            idx = order[i * args.batch:(i + 1) * args.batch]
            xb, yb = xt[idx], yt[idx]
            # Random horizontal flips: garments are left-right symmetric, a free augmentation.
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            logits = model(xb)
            loss = torch.nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            total += len(idx)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / total:.4f}, "
              f"train acc {correct / total:.4f}, {time.time() - t0:.0f} s", flush=True)
    train_seconds = time.time() - t0

    model.eval()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out_dir / "fashion_cnn.onnx"
    # The TorchScript exporter (dynamo=False) warns that it is deprecated; it still needs no
    # extra packages and gives a plain graph, so keep it and silence the warning.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), str(onnx_path),
                          input_names=["input"], output_names=["logits"], opset_version=13,
                          do_constant_folding=True, dynamo=False)

    # Accuracy as shipped: the exported file through onnxruntime, one image at a time (batch 1).
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    xs = normalize(x_test)
    preds = np.array([int(np.argmax(sess.run(None, {"input": xs[i:i + 1]})[0])) for i in range(len(xs))])
    accuracy = float(np.mean(preds == y_test))
    print(f"test accuracy (onnxruntime, {len(xs)} images): {accuracy:.4f}")

    record = {
        "model": "fashion_cnn",
        "architecture": "conv3x3 1->16 BN ReLU maxpool, conv3x3 16->32 BN ReLU maxpool, "
                        "conv3x3 32->64 BN ReLU, flatten, linear 3136->10",
        "test_accuracy": round(accuracy, 4),
        "test_images": int(len(xs)),
        "measured_with": f"onnxruntime {ort.__version__}",
        "train_seconds": round(train_seconds, 1),
        "epochs": args.epochs,
        "batch": args.batch,
        "seed": args.seed,
        "threads": args.threads,
        "torch_version": torch.__version__,
        "command": " ".join(["python scripts/train_fashion_cnn.py", *sys.argv[1:]]),
        "dataset": "Fashion-MNIST, Debian package dataset-fashion-mnist (MIT)",
        "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "preprocess": {"layout": "NCHW", "size": [28, 28], "color": "GRAY", "scale": 1 / 255,
                       "mean": [MEAN], "std": [STD], "resize": "stretch"},
        "labels": fashion_mnist.LABELS,
    }
    (args.out_dir / "fashion_cnn.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes) and fashion_cnn.json")


if __name__ == "__main__":
    main()
