"""Graph passes: plain functions IR -> IR (pruning, block sparsity, quantization, gating)."""
