"""The fine-tuning loop shared by every recipe: distillation from the original model, labels
optional, torch's Adam and cosine schedule, tqdm progress, checkpoints that survive an
interrupted run (`resume=True` continues from the last one)."""
from __future__ import annotations

import os
import pathlib
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm
import torch.nn.functional as F

from .torch_exec import GraphModule


@dataclass
class FitConfig:
    epochs: float = 2.0
    batch: int = 128
    lr: float = 1e-3
    temperature: float = 4.0
    label_weight: float = 0.5      # CE share when labels are given (the rest is distillation)
    loss: str = "kl"               # "kl" for classifier logits, "mse" for any other output
    seed: int = 0
    flip: bool = False             # random horizontal flips (symmetric images, e.g. garments)
    shift: int = 0                 # random translations by up to this many pixels (edges replicated)
    checkpoint: str | None = None  # path; written every `checkpoint_every` steps and at the end
    checkpoint_every: int = 100
    resume: bool = False
    progress: bool = True
    cache_teacher: bool = True     # teacher outputs computed once (fine while x fits in memory;
                                   # not with `shift`: every shifted view needs its own)


def distill_loss(student_out, teacher_out, labels, cfg: FitConfig):
    if cfg.loss == "mse":
        loss = F.mse_loss(student_out, teacher_out)
    else:
        t = cfg.temperature
        loss = F.kl_div(F.log_softmax(student_out / t, 1), F.log_softmax(teacher_out / t, 1),
                        reduction="batchmean", log_target=True) * t * t
    if labels is not None:
        loss = (1 - cfg.label_weight) * loss + cfg.label_weight * F.cross_entropy(student_out, labels)
    return loss


def _save(path: str, state: dict) -> None:
    tmp = f"{path}.part"
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: an interrupted write never replaces a good checkpoint


def fit(student: GraphModule, teacher, x: torch.Tensor, y: torch.Tensor | None = None,
        cfg: FitConfig = FitConfig(), on_step=None, penalty=None, after_step=None) -> dict:
    """Trains `student` to match `teacher` (a callable, or None for labels only) on inputs `x`.

    on_step(progress in [0, 1]) runs before each step (schedules); penalty() adds to the loss
    (e.g. the gates' L1); after_step() runs after the optimizer (e.g. re-applying masks).
    Returns {"steps", "seconds", "final_loss"}. With `cfg.checkpoint` and `cfg.resume`, a run
    continues where the last checkpoint left it (same data order, same optimizer state)."""
    steps_per_epoch = (len(x) + cfg.batch - 1) // cfg.batch
    total = max(1, int(round(cfg.epochs * steps_per_epoch)))
    opt = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    step = 0
    if cfg.checkpoint and cfg.resume and pathlib.Path(cfg.checkpoint).is_file():
        state = torch.load(cfg.checkpoint, weights_only=False)
        student.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step = state["step"]
    rng = np.random.default_rng(cfg.seed)
    orders = {}

    def batch_indices(s):
        epoch, i = divmod(s, steps_per_epoch)
        if epoch not in orders:  # the same permutation whether or not the run was resumed
            orders.clear()
            orders[epoch] = np.random.default_rng([cfg.seed, epoch]).permutation(len(x))
        return torch.from_numpy(orders[epoch][i * cfg.batch:(i + 1) * cfg.batch])

    cached = None
    if teacher is not None and cfg.cache_teacher and not cfg.shift:
        cached = [_outputs(teacher, x)] + ([_outputs(teacher, x.flip(3))] if cfg.flip else [])
    bar = None
    if cfg.progress:
        bar = tqdm(total=total, initial=step, unit="step", dynamic_ncols=True)
    t0, loss_avg = time.time(), None
    student.train()
    while step < total:
        idx = batch_indices(step)
        xb = x[idx]
        flip = None
        if cfg.flip:
            flip = torch.from_numpy(np.random.default_rng([cfg.seed, step, 1]).random(len(idx)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
        if cfg.shift:
            xb = shifted(xb, cfg.shift, np.random.default_rng([cfg.seed, step, 2]))
        if on_step:
            on_step(step / total)
        if cached is not None:
            t_out = cached[0][idx]
            if flip is not None:
                t_out = torch.where(flip[:, None], cached[1][idx], t_out)
        else:
            with torch.no_grad():
                t_out = teacher(xb) if teacher is not None else None
        out = student(xb)
        labels = y[idx] if y is not None else None
        loss = distill_loss(out, t_out, labels, cfg) if t_out is not None else F.cross_entropy(out, labels)
        if penalty:
            loss = loss + penalty()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if after_step:
            after_step()
        step += 1
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        if bar:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_avg:.4f}")
        if cfg.checkpoint and (step % cfg.checkpoint_every == 0 or step == total):
            _save(cfg.checkpoint, {"model": student.state_dict(), "optimizer": opt.state_dict(),
                                   "scheduler": sched.state_dict(), "step": step, "config": asdict(cfg)})
    if bar:
        bar.close()
    student.eval()
    return {"steps": total, "seconds": round(time.time() - t0, 1), "final_loss": loss_avg}


def shifted(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    """Each image of a NCHW batch translated by its own random (dy, dx) in [-s, s]², the edge
    pixels replicated into the gap (the background, for centred objects)."""
    offsets = rng.integers(-s, s + 1, size=(len(x), 2))
    padded = F.pad(x, (s, s, s, s), mode="replicate")
    h, w = x.shape[2:]
    out = torch.empty_like(x)
    for dy, dx in {tuple(o) for o in offsets.tolist()}:
        rows = torch.from_numpy(np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx)))
        out[rows] = padded[rows, :, s + dy:s + dy + h, s + dx:s + dx + w]
    return out


@torch.no_grad()
def _outputs(model, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    if hasattr(model, "eval"):
        model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)
