#!/usr/bin/env python3
"""Do easy inputs cost less? For gated Fashion-MNIST models (.sgm), the MACs each test image
skips against how sure the original model is of it (its top softmax probability) and whether
it is right, on all 10,000 test images (torch executor, the runtime's MAC count).

    python scripts/gate_difficulty.py gated.sgm [more.sgm ...]
"""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytools"))

import numpy as np  # noqa: E402

import sparsegate  # noqa: E402
from sparsegate import zoo  # noqa: E402
from sparsegate.format import read_model  # noqa: E402
from sparsegate.zoo import fashion_mnist  # noqa: E402


def main(paths: list[str]) -> None:
    import torch
    from sparsegate.train import gates, recipes
    from sparsegate.train.torch_exec import GraphModule
    torch.set_num_threads(1)
    x, y = (torch.from_numpy(a) for a in fashion_mnist.load_inputs("test"))
    original = recipes.frozen(sparsegate.convert(zoo.fetch("fashion_cnn"), metadata=zoo.info("fashion_cnn")))
    with torch.no_grad():
        p = torch.softmax(torch.cat([original(x[i:i + 1000]) for i in range(0, len(x), 1000)]), 1)
    confidence, right = p.max(1).values.numpy(), (p.argmax(1) == y).numpy()
    quartile = np.digitize(confidence, np.quantile(confidence, [0.25, 0.5, 0.75]))
    for path in paths:
        model = GraphModule(read_model(pathlib.Path(path).read_bytes(), path)).eval()
        skipped = gates.gate_statistics(model, x)["skipped_per_input"]
        print(f"{path}: MACs skipped {100 * skipped.mean():.1f}% on average "
              f"({100 * skipped.min():.1f}–{100 * skipped.max():.1f}%); correlation with the original's "
              f"confidence {np.corrcoef(skipped, confidence)[0, 1]:+.3f}; inputs it gets right "
              f"{100 * skipped[right].mean():.2f}%, wrong {100 * skipped[~right].mean():.2f}%; by confidence "
              "quartile (least sure first) " + ", ".join(f"{100 * skipped[quartile == q].mean():.2f}%"
                                                           for q in range(4)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
