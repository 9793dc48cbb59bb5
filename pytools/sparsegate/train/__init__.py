"""Training-aware compression (optional PyTorch extra: `pip install sparsegate[train]`).

- `torch_exec.GraphModule`: the IR as a trainable torch module, one torch op per IR op
  (`torch_exec.OPS`: `ops` and `ops_compressed`, the numpy reference's twin);
- `gates`: learned gates (Feature Boosting and Suppression) with input-adaptive budgets;
- `recipes`: dense, gated and static-pruning fine-tuning by one distillation recipe (`loop.fit`:
  progress bars, resumable checkpoints);
- `qat`: quantization-aware training for the int8 ops;
- `data`: unlabeled inputs from a folder of images or arrays;
- `nn` (`sg.nn`): dynamic sparse layers for a user's own torch model; `export` (`sg.export`):
  such a model to IR and `.sgm`. The `sparsegate train` command is `tools.train_cli`.

Nothing here is imported by `import sparsegate`; torch is needed only when these modules are.
"""
import sys

if sys.platform == "emscripten":  # Pyodide, JupyterLite: onnx and torch do not exist there
    from .. import _needs_cpython
    raise _needs_cpython("training and export (sparsegate.train, sparsegate.nn)")
