"""Learned gates (Feature Boosting and Suppression) on any imported model.

Per gated Conv: s = relu(gate_fc_w · GAP(x) + gate_fc_b); the largest s are kept (at most
M − floor(gate_sparsity·M), and only s > gate_threshold); kept channels are scaled by s, skipped
ones output 0 — exactly docs/ir.md's learned gate kind, which the student module runs while it
trains, so the exported `.sgm` computes what was trained.

Input-adaptive budgets come from a scale-free L1 penalty on s (`GateSchedule.penalty`): channels
an input does not need drift to s = 0 and are skipped (s > gate_threshold fails) even when the
budget allows them, so easy inputs cost less than the cap.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..ir import Graph
from ..macs import node_macs
from .ops import scalar
from .torch_exec import GraphModule


def gateable(graph: Graph, min_in_channels: int = 1, min_out_channels: int = 8) -> list[str]:
    """Conv nodes a learned gate fits: group 1, enough output channels to choose from."""
    names = []
    for node in graph.nodes:
        if node.op != "Conv" or int(scalar(node.attrs["group"])) != 1:
            continue
        m, c = graph.tensors[node.inputs[1]].shape[:2]
        if m >= min_out_channels and c >= min_in_channels:
            names.append(node.name)
    return names


HOMOGENEOUS = ("", "Relu", "LeakyRelu")  # act(c·y) = c·act(y) for c > 0


@torch.no_grad()
def add_gates(module: GraphModule, layers: list[str], calib: torch.Tensor,
              threshold: float = 0.0, ridge: float = 1e-2, shrink: float = 0.25) -> None:
    """Adds learned gates to `layers`, initialized from data so that the gated model starts
    close to the original: gate_fc is the ridge regression from GAP(input) to each channel's
    mean |activation| (its saliency, which FBS ranks channels by). With a positively homogeneous
    activation (ReLU, none) the channel's weights and bias are divided by its mean gate value c,
    so s·act(conv/c) ≈ act(conv) where s ≈ c; otherwise the target is the saliency relative to
    the channel's mean (s ≈ 1). Budgets start at 0 (dense); `GateSchedule` raises them."""
    env = module.run({module.graph.inputs[0]: calib}, keep_all=True)
    nodes = {n.name: n for n in module.graph.nodes}
    for name in layers:
        node = nodes[name]
        x, y = env[node.inputs[0]], env[node.outputs[0]]
        g = x.mean(dim=(2, 3)).double()                      # [N, C]
        t = y.abs().mean(dim=(2, 3)).double()                # [N, M]
        homogeneous = node.attrs["activation"] in HOMOGENEOUS
        t = t / t.mean().clamp_min(1e-12) if homogeneous else t / t.mean(0).clamp_min(1e-12)
        a = torch.cat([g, torch.ones(len(g), 1, dtype=g.dtype)], 1)
        reg = ridge * torch.eye(a.shape[1], dtype=g.dtype) * (a.pow(2).sum() / len(a) / a.shape[1])
        coef = torch.linalg.solve(a.t() @ a + reg, a.t() @ t)  # [C+1, M]
        # Shrink towards each channel's mean gate (s = c + shrink·(fit − c)): the gated model
        # starts close to the original (s/c ≈ 1) and ranks channels by mean saliency plus an
        # input-dependent part that training then grows.
        c = (a @ coef).mean(0)
        coef[:-1] *= shrink
        coef[-1] = shrink * coef[-1] + (1 - shrink) * c
        module.add_learned_gate(name, 0.0, threshold, init_w=coef[:-1].t().float().numpy(),
                                init_b=coef[-1].float().numpy())
        if homogeneous:
            c = (a @ coef).mean(0).float()
            c = c.clamp_min(0.05 * float(c.abs().mean()) + 1e-6)
            module.tensor(node.inputs[1]).div_(c.reshape(-1, *[1] * (module.tensor(node.inputs[1]).ndim - 1)))
            module.tensor(node.inputs[2]).div_(c)


@dataclass
class GateSchedule:
    """Raises every gated layer's budget from 0 to `sparsity` over the first `ramp` fraction of
    training (a gradual schedule loses less than a jump), and adds `l1 · mean(s)` to the loss.

    `adaptive` (a fraction in (0, 1]): the budget becomes a *mean* over inputs. Each input skips
    at least `adaptive × budget` of the channels (the top-k cap) and, beyond that, every channel
    whose gate is at most a threshold set to the budget-quantile of the last batch's gate values
    (a running average, exported as gate_threshold): inputs whose gates are low skip more."""
    sparsity: dict[str, float]
    ramp: float = 0.5
    l1: float = 0.0
    threshold: float = 0.0
    adaptive: float | None = None
    current: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    def update(self, module: GraphModule, progress: float) -> None:
        f = min(1.0, progress / self.ramp) if self.ramp > 0 else 1.0
        for name, target in self.sparsity.items():
            self.current[name] = target * f
            if self.adaptive is None:
                module.set_gate_budget(name, target * f, self.threshold)
                continue
            s = module.last_gates.get(name, (None, None))[0]
            if s is not None and target * f > 0:
                q = float(torch.quantile(s.detach().flatten().float(), target * f))
                old = self.thresholds.get(name, q)
                self.thresholds[name] = 0.9 * old + 0.1 * q
            module.set_gate_budget(name, self.adaptive * target * f, self.thresholds.get(name, 0.0))

    def penalty(self, module: GraphModule) -> torch.Tensor:
        """l1 · mean over layers of mean(s) / mean(s) (the divisor detached). A plain L1 on s
        does nothing here: s·act(conv/c) = (s/k)·act(conv·k/c), so training shrinks every s and
        grows the filters to match. Relative to its own (constant) mean, the penalty pushes
        every gate down by the same step, so the channels an input needs least reach 0 (and are
        skipped) first: input-adaptive savings."""
        if not self.l1 or not module.last_gates:
            return torch.zeros(())
        return self.l1 * torch.stack([s.mean() / s.mean().detach().clamp_min(1e-6)
                                      for s, _ in module.last_gates.values()]).mean()


def budget_for_macs(graph: Graph, layers: list[str], skip_fraction: float) -> float:
    """The uniform per-layer gate sparsity that skips `skip_fraction` of the whole graph's MACs
    (counting only the gated layers' output channels, as the runtime's stats do)."""
    nodes = {n.name: n for n in graph.nodes}
    total = sum(node_macs(graph, n) for n in graph.nodes)
    gated = sum(node_macs(graph, nodes[name]) for name in layers)
    return min(0.95, skip_fraction * total / max(gated, 1))


@torch.no_grad()
def gate_statistics(module: GraphModule, x: torch.Tensor, batch: int = 500) -> dict:
    """Per-run MACs (dense vs executed: mean, min, max, fraction skipped) and per layer the
    kept-channel frequencies: how many channels are always on (kept on ≥ 99% of inputs), always
    off (≤ 1%) and truly dynamic — a fixed top-k would make every channel always-on or always-off."""
    executed, freq = [], {}
    for i in range(0, len(x), batch):
        module(x[i:i + batch])
        dense, e = module.macs()
        executed.append(e)
        for name, (_, mask) in module.last_gates.items():
            freq[name] = freq.get(name, 0) + mask.sum(0)
    executed = torch.cat(executed).double()
    layers = {}
    for name, f in freq.items():
        f = (f / len(x)).numpy()
        layers[name] = {"channels": int(f.size), "mean_kept": float(f.sum()),
                        "always_on": int((f >= 0.99).sum()), "always_off": int((f <= 0.01).sum()),
                        "dynamic": int(((f > 0.01) & (f < 0.99)).sum())}
    return {"macs_dense": int(dense), "macs_mean": float(executed.mean()),
            "skipped_per_input": (1 - executed / dense).numpy(),
            "macs_min": float(executed.min()), "macs_max": float(executed.max()),
            "skipped_mean": float(1 - executed.mean() / dense),
            "skipped_min": float(1 - executed.max() / dense),
            "skipped_max": float(1 - executed.min() / dense), "layers": layers}


def kept_frequency_summary(stats: dict) -> dict:
    tot = {k: sum(v[k] for v in stats["layers"].values()) for k in ("channels", "always_on", "always_off", "dynamic")}
    return tot
