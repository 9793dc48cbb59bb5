"""Layers for people who train their own models with sparsegate's gates (needs torch).

    import sparsegate as sg
    conv = sg.nn.DynamicSparseConv2d(32, 64, 3, sparsity_ratio=0.4, padding=1, batch_norm=True)
    ...train the model with any torch optimizer (torch.amp works as usual)...
    sg.export(model, torch.zeros(1, 3, 32, 32), "model.sgm")   # gates run in the runtime

A dynamic layer is conv (+ BatchNorm) + activation followed by a learned gate (Feature Boosting
and Suppression, docs/ir.md): s = relu(gate_fc(GAP(x))); the largest s are kept — at most
M − floor(sparsity_ratio·M) of the M channels, and only s > threshold — and a kept channel's
output is s·act(bn(conv(x))), a skipped one 0. The layer computes exactly what the runtime's
learned-gate Conv computes, so the exported model gives the same outputs and keeps the same
channels. `gate_penalty(model)` is the L1 term that makes budgets input-adaptive.
"""
from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from .ops import learned_gate

# Activation name -> (IR activation, IR params) as the importer fuses it into Conv/Gemm.
ACTIVATIONS = {None: ("", []), "relu": ("Relu", []), "relu6": ("Clip", [0.0, 6.0]),
               "sigmoid": ("Sigmoid", []), "tanh": ("Tanh", []), "silu": ("Silu", []),
               "hardswish": ("HardSwish", [])}
_TORCH_ACT = {None: nn.Identity, "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid,
              "tanh": nn.Tanh, "silu": nn.SiLU, "hardswish": nn.Hardswish}


class _DynamicSparse(nn.Module):
    """Shared gate logic of the dynamic layers."""

    def _init_gate(self, in_features, out_features, sparsity_ratio, threshold, activation):
        if not 0 <= sparsity_ratio < 1:
            raise ValueError(f"sparsity_ratio must be in [0, 1), got {sparsity_ratio}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
        self.sparsity_ratio = float(sparsity_ratio)
        self.threshold = float(threshold)
        self.activation = activation
        self.act = _TORCH_ACT[activation]()
        self.gate = nn.Linear(in_features, out_features)
        nn.init.normal_(self.gate.weight, 0.0, 0.01)   # s ≈ 1 at first; ties broken by the noise
        nn.init.ones_(self.gate.bias)
        self.gated = True            # False: the gate-free layer (what export traces)
        self.last_gate = None        # (s [N, M], kept mask [N, M]) of the last forward

    @property
    def out_channels_skipped(self) -> int:
        return int(math.floor(self.sparsity_ratio * self.gate.out_features + 1e-9))

    def gate_attrs(self) -> dict:
        """The docs/ir.md attributes of this gate. gate_sparsity is stored as (skip + ½)/M so
        that floor(gate_sparsity·M) is `skip` in float32 and float64 alike."""
        m, skip = self.gate.out_features, self.out_channels_skipped
        return {"gate_kind": "learned", "gate_sparsity": float((skip + 0.5) / m) if skip else 0.0,
                "gate_fill": "zero", "gate_threshold": self.threshold}

    def _apply_gate(self, y, pooled):
        if not self.gated:
            return y
        s = torch.relu(self.gate(pooled))
        mask = learned_gate(s, self.gate_attrs(), 1.0)
        self.last_gate = (s, mask)
        scale = s * mask
        return y * (scale[:, :, None, None] if y.ndim == 4 else scale)


class DynamicSparseConv2d(_DynamicSparse):
    """Conv2d (+ optional BatchNorm) + activation with a learned per-input channel gate.

    sparsity_ratio: fraction of output channels always skipped (the budget cap); threshold:
    channels whose gate value is ≤ it are skipped too (input-adaptive savings)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, sparsity_ratio: float = 0.4,
                 stride=1, padding=0, dilation=1, bias: bool = True, batch_norm: bool = False,
                 activation: str | None = "relu", threshold: float = 0.0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation,
                              bias=bias and not batch_norm)
        self.bn = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self._init_gate(in_channels, out_channels, sparsity_ratio, threshold, activation)

    def forward(self, x):
        return self._apply_gate(self.act(self.bn(self.conv(x))), x.mean(dim=(2, 3)))


class DynamicSparseLinear(_DynamicSparse):
    """Linear + activation with a learned gate per output feature (the Gemm twin)."""

    def __init__(self, in_features: int, out_features: int, sparsity_ratio: float = 0.4,
                 bias: bool = True, activation: str | None = None, threshold: float = 0.0):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self._init_gate(in_features, out_features, sparsity_ratio, threshold, activation)

    def forward(self, x):
        return self._apply_gate(self.act(self.linear(x)), x)


def dynamic_layers(model: nn.Module) -> list[tuple[str, _DynamicSparse]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, _DynamicSparse)]


def gate_penalty(model: nn.Module) -> torch.Tensor:
    """Mean gate value over the dynamic layers of the last forward: add `λ·gate_penalty(model)`
    to the loss so that gates an input does not need fall to 0 (and below the threshold)."""
    values = [m.last_gate[0].mean() for _, m in dynamic_layers(model) if m.gated and m.last_gate]
    return torch.stack(values).mean() if values else torch.zeros(())


@contextlib.contextmanager
def gates_off(model: nn.Module):
    """Within the block the dynamic layers are plain conv/linear + activation (for tracing)."""
    layers = [m for _, m in dynamic_layers(model)]
    before = [m.gated for m in layers]
    try:
        for m in layers:
            m.gated = False
        yield model
    finally:
        for m, b in zip(layers, before):
            m.gated = b


def ir_activation(layer: _DynamicSparse) -> tuple[str, list[float]]:
    return ACTIVATIONS[layer.activation]


class MaskedAdam(torch.optim.Adam):
    """torch's Adam that keeps pruned weights at zero: after each step every parameter in
    `masks` is multiplied by its mask (1 = keep, 0 = pruned). All else is torch's Adam."""

    def __init__(self, params, masks: dict, **adam_kwargs):
        super().__init__(params, **adam_kwargs)
        self.masks = {p: m.to(p.dtype) for p, m in masks.items()}

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        for p, m in self.masks.items():
            p.mul_(m)
        return loss


def masks_from_zeros(params) -> dict:
    """{param: mask} marking each parameter's current zeros as pruned (e.g. after a pruning pass)."""
    return {p: (p.detach() != 0) for p in params}


__all__ = ["DynamicSparseConv2d", "DynamicSparseLinear", "MaskedAdam", "masks_from_zeros",
           "gate_penalty", "gates_off", "dynamic_layers"]
