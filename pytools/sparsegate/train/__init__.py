"""Training-aware compression (optional PyTorch extra: `pip install sparsegate[train]`).

- `torch_exec.GraphModule`: the IR as a trainable torch module, one torch op per IR op
  (`ops.OPS`, the numpy reference's twin, compressed ops included);
- `gates`: learned gates (Feature Boosting and Suppression) with input-adaptive budgets;
- `recipes`: dense, gated and static-pruning fine-tuning by one distillation recipe (`loop.fit`:
  progress bars, resumable checkpoints);
- `qat`: quantization-aware training for the int8 ops;
- `data`: unlabeled inputs from a folder of images or arrays; `cli`: `sparsegate train`.

Nothing here is imported by `import sparsegate`; torch is needed only when these modules are.
"""
