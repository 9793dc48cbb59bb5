"""`sparsegate report`: one self-contained HTML page about a compression run.

    rep = compress(src, dst, ..., analyze=True)      # or: report(src, "report.html", calib=...)
    write_html(rep, "report.html")

Plots (matplotlib, embedded as base64 PNG): the metric against MACs removed for each channel
group pruned alone and for uniform pruning of every group, and bytes before/after; a table per
layer shows channels, MACs kept, weight encoding (which layers stayed float32) and density.
"""
from __future__ import annotations

import base64
import html
import io
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the driver needs the [convert] extra
    from ..compression.driver import CompressReport


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plt():
    """matplotlib.pyplot (the optional [report] extra), on the Agg backend."""
    try:  # matplotlib: the optional [report] extra
        import matplotlib
    except ImportError as e:
        raise ImportError("sparsegate report needs matplotlib: pip install 'sparsegate[report]'") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after choosing the backend
    return plt


def _curves(rep: CompressReport) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    total = max(rep.macs_before, 1)
    by_group: dict[str, list] = {}
    for row in rep.sensitivity:
        by_group.setdefault(row["group"], []).append(row)
    for k, (name, rows) in enumerate(by_group.items()):
        rows = sorted(rows, key=lambda r: r["ratio"])
        ax.plot([0] + [100 * r["macs_removed"] / total for r in rows],
                [rep.metric_before] + [r["metric"] for r in rows], "-", lw=1, alpha=0.6,
                label=name[-40:] if len(by_group) <= 12 else None)
    if rep.curve:
        ax.plot([0] + [100 * r["macs_removed"] / total for r in rep.curve],
                [rep.metric_before] + [r["metric"] for r in rep.curve], "k-o", lw=2,
                label="all groups, same ratio")
    if rep.metric_after is not None:
        ax.plot([100 * (1 - rep.macs_after / total)], [rep.metric_after], "r*", ms=14,
                label="this compressed model")
    ax.set_xlabel("MACs removed (% of the whole model)")
    ax.set_ylabel(rep.metric_name or "metric")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return _png(fig)


def _bytes(rep: CompressReport) -> str:
    plt = _plt()
    names, values = ["sgm float32", "compressed"], [rep.bytes_before, rep.bytes_after]
    if rep.bytes_onnx:
        names, values = ["ONNX"] + names, [rep.bytes_onnx] + values
    fig, ax = plt.subplots(figsize=(5, 3))
    bars = ax.bar(names, [v / 1e6 for v in values], color=["#999", "#69c", "#c63"][-len(names):])
    for b, v in zip(bars, values):
        ax.annotate(f"{v / 1e6:.2f} MB", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("MB")
    return _png(fig)


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = []
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r[key]
            cells.append(f"<td>{v:,}</td>" if isinstance(v, int) else
                         f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


_HEAD = ("<!doctype html><html><head><meta charset='utf-8'><title>sparsegate report</title><style>"
         "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;"
         "text-align:right}td:first-child{text-align:left}img{max-width:100%}</style></head><body>")


def render_html(rep: CompressReport) -> str:
    fmt = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
    summary = [("MACs", f"{rep.macs_before:,}", f"{rep.macs_after:,}", f"{rep.macs_after / max(rep.macs_before, 1):.3f}"),
               ("bytes (.sgm)", f"{rep.bytes_before:,}", f"{rep.bytes_after:,}", f"{rep.bytes_after / max(rep.bytes_before, 1):.3f}")]
    if rep.bytes_onnx:
        summary.append(("bytes vs ONNX", f"{rep.bytes_onnx:,}", f"{rep.bytes_after:,}", f"{rep.bytes_after / rep.bytes_onnx:.3f}"))
    if rep.metric_before is not None:
        summary.append((rep.metric_name, fmt(rep.metric_before), fmt(rep.metric_after), ""))
    summary_html = "<table><tr><th></th><th>before</th><th>after</th><th>ratio</th></tr>" + "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in summary) + "</table>"
    fp32 = [r["name"] for r in rep.layers if r["encoding"] == "float32"]
    layers = [{**r, "macs_kept": r["macs_after"] / max(r["macs_before"], 1),
               "channels": f"{r['out_before']} → {r['out_after']}"} for r in rep.layers]
    options = ", ".join(f"{k}={v}" for k, v in rep.options.items() if v not in (None, [1, 4]))
    parts = [
        _HEAD,
        f"<h1>sparsegate compression report</h1><p>{html.escape(rep.source)} → "
        f"{html.escape(rep.output or '(not written)')}<br>options: {html.escape(options)}</p>",
        "<h2>Summary</h2>", summary_html,
        f"<h2>{html.escape(rep.metric_name or 'metric')} vs MACs removed</h2>",
        "<p>Thin lines: each channel group pruned alone (sensitivity analysis); black: every group "
        "pruned by the same ratio; star: the model written.</p>",
        _curves(rep) if (rep.sensitivity or rep.curve) and rep.metric_before is not None
        else "<p>(no calibration data or eval_fn: nothing measured)</p>",
        "<h2>Bytes</h2>", _bytes(rep),
        f"<h2>Layers</h2><p>{len(fp32)} of {len(rep.layers)} layers kept float32 weights"
        f"{': ' + html.escape(', '.join(fp32)) if 0 < len(fp32) < len(rep.layers) else ''}.</p>",
        _table(layers, [("name", "layer"), ("op", "op"), ("channels", "out channels"),
                        ("macs_kept", "MACs kept"), ("encoding", "weights"), ("density", "density")]),
    ]
    if rep.plan:
        parts.append("<h2>Pruning plan</h2>" + _table(
            [{"group": g, "ratio": float(r)} for g, r in rep.plan.items()], [("group", "group"), ("ratio", "ratio")]))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(rep: CompressReport, path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_html(rep))


def report(src, out, *, dst=None, **compress_options) -> CompressReport:
    """Runs `compress(src, dst, analyze=True, **compress_options)` and writes the HTML page to
    `out`. Returns the CompressReport."""
    from ..compression.driver import compress  # onnx, Pillow, tqdm: the [convert] extra
    rep = compress(src, dst, analyze=True, **compress_options)
    write_html(rep, os.fspath(out))
    return rep


def render_train_html(summary: dict, layers: list[dict], skipped_per_input=None) -> str:
    """`sparsegate train --report`: the run's summary, per gated layer how often each channel
    was kept on the held-out inputs (always on / always off / input-dependent: a gate whose
    channels are all always on or off is static pruning in disguise), and the histogram of MACs
    skipped per input (input-adaptive budgets make it wide)."""
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in summary.items())
    parts = [_HEAD, f"<h1>sparsegate training report</h1><table>{rows}</table>"]
    if layers:
        parts += ["<h2>Gated layers (held-out inputs)</h2>",
                  _table(layers, [("name", "layer"), ("channels", "channels"), ("mean_kept", "kept (mean)"),
                                  ("always_on", "always on"), ("always_off", "always off"),
                                  ("dynamic", "input-dependent")])]
    if skipped_per_input is not None and len(skipped_per_input):
        plt = _plt()
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.hist([100 * float(v) for v in skipped_per_input], bins=30)
        ax.set_xlabel("MACs skipped per input (%)")
        ax.set_ylabel("inputs")
        parts += ["<h2>MACs skipped per input</h2>", _png(fig)]
    parts.append("</body></html>")
    return "\n".join(parts)
