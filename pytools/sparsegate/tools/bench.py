"""`sparsegate bench`: sparsegate against onnxruntime-web on the same models and seeded
inputs, in one Node process and in one Chromium page (docs/benchmarks.md).

It converts the zoo models (batch 1, and the batch sizes of the latency curve), writes one-node
models for the per-layer profile, builds the SIMD peak microbenchmark, then drives
`bench/node_suite.mjs` (Node) and `bench/page.html` / `bench/cold.html` (Debian's Chromium
through Playwright, served crossOriginIsolated from 127.0.0.1). Everything that is timed is
timed inside the JS engine (bench/bench_core.mjs); this module only prepares, collects and
summarizes: one JSON file, and a plot when matplotlib is installed.

Needs the repository checkout (web/, bench/, web/node_modules from `cd web && npm ci`), Node,
and for the browser part Chromium and the playwright package.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .. import zoo
from ..errors import SparsegateError
from ..format import read_model, write_model
from ..ir import Graph
from ..macs import node_macs
from .gating_bench import gate_stats_lines

DEFAULT_MODELS = ("mobilenetv2", "yolov8n", "blazeface")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROFILE_OPS = ("Conv", "Gemm", "MatMul")


def repo_root(explicit: str | None = None) -> Path:
    """The checkout with web/src/index.js and bench/bench_core.mjs (cwd, or this package's)."""
    for cand in ([Path(explicit)] if explicit else []) + [Path.cwd(), Path(__file__).resolve().parents[3]]:
        if (cand / "web/src/index.js").exists() and (cand / "bench/bench_core.mjs").exists():
            return cand.resolve()
    raise SparsegateError("sparsegate bench runs from the repository checkout (web/ and bench/); "
                          "pass --repo DIR")


def cache_dir() -> Path:
    d = zoo.cache_dir() / "bench"
    d.mkdir(parents=True, exist_ok=True)
    return d


# ---------------------------------------------------------------- models

def _fresh(out: Path, *deps: Path) -> bool:
    """`out` is newer than its inputs, this file and the importer (a new fusion reconverts)."""
    importer = list((Path(__file__).parents[1] / "onnx_import").glob("*.py"))
    src_mtime = max([p.stat().st_mtime for p in [*deps, *importer]] + [Path(__file__).stat().st_mtime])
    return out.exists() and out.stat().st_mtime >= src_mtime


def prepare_model(name: str, batch: int = 1) -> dict:
    """{name, batch, sgm, onnx, dims}: the zoo model converted at `batch` (and, for batch > 1,
    an .onnx whose input has that batch for onnxruntime-web)."""
    from ..compression.conversion import convert  # onnx: needed only for conversion
    onnx_path = Path(zoo.fetch(name))
    info = zoo.info(name)
    inp = info["inputs"][0]
    dims = [batch] + list(inp["shape"][1:])
    d = cache_dir()
    sgm = d / f"{name}-b{batch}.sgm"
    if not _fresh(sgm, onnx_path):
        meta = {**info, "inputs": [{**inp, "shape": dims}]}
        convert(onnx_path, sgm, input_shapes={inp["name"]: dims}, metadata=meta)
    onnx_out = onnx_path
    if batch != 1:
        onnx_out = d / f"{name}-b{batch}.onnx"
        if not _fresh(onnx_out, onnx_path):
            import onnx  # conversion's dependency, as above
            m = onnx.load(str(onnx_path))
            for i in m.graph.input:
                if i.name == inp["name"]:
                    i.type.tensor_type.shape.dim[0].ClearField("dim_param")
                    i.type.tensor_type.shape.dim[0].dim_value = batch
            for o in m.graph.output:  # let onnxruntime infer the batch of every output
                o.type.tensor_type.shape.dim[0].ClearField("dim_value")
                o.type.tensor_type.shape.dim[0].dim_param = "batch"
            del m.graph.value_info[:]
            onnx.save(m, str(onnx_out))
    return {"name": name, "batch": batch, "sgm": str(sgm), "onnx": str(onnx_out), "dims": dims}


def prepare_layers(name: str, limit: int | None = None) -> list[dict]:
    """One-node .sgm models for each Conv/Gemm/MatMul of the model (its real weights and input
    shape): the per-layer profile times them alone, so the runtime needs no timing hooks."""
    src = Path(prepare_model(name)["sgm"])
    graph = read_model(src.read_bytes(), str(src))
    d = cache_dir() / f"{name}-layers"
    d.mkdir(exist_ok=True)
    layers = []
    for k, node in enumerate(graph.nodes):
        if node.op not in PROFILE_OPS:
            continue
        acts = [i for i in node.inputs if i and not graph.tensors[i].is_constant]
        if acts != [node.inputs[0]]:
            continue  # the profile feeds one activation input
        out = d / f"{k:03d}.sgm"
        if not _fresh(out, src):
            names = [i for i in node.inputs if i] + list(node.outputs)
            sub = Graph(nodes=[node], tensors={n: graph.tensors[n] for n in names},
                        inputs=[node.inputs[0]], outputs=list(node.outputs), metadata={})
            write_model(sub, out)
        x = graph.tensors[node.inputs[0]]
        w = graph.tensors[node.inputs[1]] if len(node.inputs) > 1 and node.inputs[1] else None
        layers.append({"name": node.name, "op": node.op, "model": str(out),
                       "shape": {"x": list(x.shape), "w": list(w.shape) if w is not None else None,
                                 "y": list(graph.tensors[node.outputs[0]].shape),
                                 "group": node.attrs.get("group", 1), "strides": node.attrs.get("strides")},
                       "macs": int(node_macs(graph, node))})
    layers.sort(key=lambda r: -r["macs"])
    return layers[:limit] if limit else layers


def peak_wasm(root: Path) -> Path | None:
    out = root / "build/peak.wasm"
    if not out.exists() or out.stat().st_mtime < (root / "bench/peak.c").stat().st_mtime:
        if shutil.which("emcc") is None:
            return None
        subprocess.run(["make", "-s", "bench-peak"], cwd=root, check=True)
    return out


# ---------------------------------------------------------------- Node

def _node(root: Path, args: list[str], timeout: float) -> dict:
    proc = subprocess.run(["node", "bench/node_suite.mjs", *args], cwd=root, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SparsegateError(f"node bench/node_suite.mjs {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_node(root: Path, config: dict, timeout: float = 3600) -> dict:
    path = cache_dir() / f"node-config-{config['threads']}t.json"
    path.write_text(json.dumps(config))
    return _node(root, [str(path)], timeout)


def node_cold(root: Path, model: dict, threads: int, reps: int) -> dict:
    """Cold starts in fresh Node processes, the two runtimes alternating."""
    runs = {"sparsegate": [], "onnxruntime-web": []}
    for _ in range(reps):
        for kind, path in (("sparsegate", model["sgm"]), ("onnxruntime-web", model["onnx"])):
            runs[kind].append(_node(root, ["--cold", kind, path, json.dumps(model["dims"]), str(threads)], 300))
    return _cold_summary(runs)


def _cold_summary(runs: dict) -> dict:
    out = {}
    for kind, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        out[kind] = {"reps": len(rs), "runs": rs}
        if ok:
            for key in ("import_ms", "create_ms", "first_result_ms"):
                out[kind][f"median_{key}"] = round(statistics.median(r[key] for r in ok), 2)
    return out


# ---------------------------------------------------------------- Chromium

class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript", ".mjs": "text/javascript", ".cjs": "text/javascript",
                      ".sgm": "application/octet-stream", ".onnx": "application/octet-stream"}

    def translate_path(self, path):
        if path.startswith("/__bench/"):  # prepared models in the cache
            rel = path.split("?", 1)[0][len("/__bench/"):]
            return str(self.server.cache / rel)
        return super().translate_path(path)

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


class BenchServer:
    """Serves the checkout, and the bench cache under /__bench/, crossOriginIsolated."""

    def __init__(self, root: Path):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.httpd.cache = cache_dir()
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def model_url(self, path: str) -> str:
        p = Path(path)
        try:
            return "/__bench/" + str(p.resolve().relative_to(cache_dir().resolve()))
        except ValueError:  # a zoo .onnx outside the bench cache: link it in
            link = cache_dir() / "zoo" / p.name
            link.parent.mkdir(exist_ok=True)
            if not link.exists():
                os.symlink(p.resolve(), link)
            return f"/__bench/zoo/{p.name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _urls(server: BenchServer, config: dict) -> dict:
    c = json.loads(json.dumps(config))
    for m in c.get("models", []) + c.get("batches", []):
        m["sgm"], m["onnx"] = server.model_url(m["sgm"]), server.model_url(m["onnx"])
    for layers in c.get("layers", {}).values():
        for layer in layers:
            layer["model"] = server.model_url(layer["model"])
    if c.get("peak"):
        c["peak"] = "/build/peak.wasm"
    return c


def run_chromium(root: Path, configs: list[dict], cold: list[tuple[dict, int, int]]) -> dict:
    """Each config in a fresh page (one thread count per page); cold starts in fresh contexts."""
    from playwright.sync_api import sync_playwright  # the optional test dependency
    server = BenchServer(root)
    out = {"suites": [], "cold": {}}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            out["version"] = browser.version
            for config in configs:
                page = browser.new_page()
                page.set_default_timeout(0)
                page.goto(server.url + "/bench/page.html")
                page.wait_for_function("window.benchReady === true")
                out["suites"].append(page.evaluate("(c) => window.benchRun(c)", _urls(server, config)))
                page.close()
            for model, threads, reps in cold:
                runs = {"sparsegate": [], "onnxruntime-web": []}
                for _ in range(reps):
                    for kind, path in (("sparsegate", model["sgm"]), ("onnxruntime-web", model["onnx"])):
                        ctx = browser.new_context()
                        page = ctx.new_page()
                        q = (f"kind={kind}&model={server.model_url(path)}&dims={json.dumps(model['dims'])}"
                             f"&threads={threads}")
                        page.goto(f"{server.url}/bench/cold.html?{q}")
                        page.wait_for_function("window.coldResult !== undefined", timeout=120_000)
                        runs[kind].append(page.evaluate("window.coldResult"))
                        ctx.close()
                out["cold"][f"{model['name']}-{threads}t"] = _cold_summary(runs)
            browser.close()
    finally:
        server.close()
    return out


# ---------------------------------------------------------------- summary and plot

def _ratio(suite: dict, model: str, a: str, b: str, key: str = "median_ms"):
    rts = suite.get("models", {}).get(model, {}).get("runtimes", {})
    if a in rts and b in rts and rts[b][key]:
        return round(rts[a][key] / rts[b][key], 3)
    return None


def summarize(result: dict) -> dict:
    """The figures the speed issue asks for, from the raw results."""
    s = {"wasm_bytes": result["sizes"], "hosts": {}}
    sizes = result["sizes"]
    s["wasm_size_ratio"] = round(sizes["sparsegate.wasm"] / sizes["ort-wasm-simd-threaded.wasm"], 4)
    for host, h in result["hosts"].items():
        hs = s["hosts"][host] = {"latency_1t": {}, "latency_2t": {}, "cold_1t": {}}
        for suite in h.get("suites", []):
            t = suite["threads"]
            for model, m in suite.get("models", {}).items():
                if "runtimes" not in m:
                    continue
                row = {k: v["median_ms"] for k, v in m["runtimes"].items()}
                row["p90"] = {k: v["p90_ms"] for k, v in m["runtimes"].items()}
                row["sparsegate/ort"] = _ratio(suite, model, f"sparsegate-{t}t", f"onnxruntime-web-{t}t")
                row["sparsegate/ort_p90"] = _ratio(suite, model, f"sparsegate-{t}t", f"onnxruntime-web-{t}t", "p90_ms")
                row["memory_bytes"] = {k: v["wasm_memory_bytes"] for k, v in m["runtimes"].items()}
                if t > 1:
                    r = _ratio(suite, model, "sparsegate-1t", f"sparsegate-{t}t")
                    row[f"speedup_{t}t_over_1t"] = r
                hs[f"latency_{t}t"][model] = row
        for key, c in h.get("cold", {}).items():
            sg, ort = c["sparsegate"].get("median_first_result_ms"), c["onnxruntime-web"].get("median_first_result_ms")
            hs["cold_1t" if key.endswith("-1t") else key][key.rsplit("-", 1)[0]] = {
                "sparsegate_ms": sg, "ort_ms": ort, "ratio": round(sg / ort, 3) if sg and ort else None}
        for suite in h.get("suites", []):
            if suite.get("peak"):
                hs["simd_peak_gflops"] = suite["peak"]["gflops"]
            for model, layers in suite.get("layers", {}).items():
                peak = hs.get("simd_peak_gflops") or (suite.get("peak") or {}).get("gflops")
                tot_ms = sum(x["median_ms"] for x in layers)
                best_ms = sum(x.get("min_ms", x["median_ms"]) for x in layers)
                tot_macs = sum(x["macs"] for x in layers)
                best = 2 * tot_macs / (best_ms * 1e6) if best_ms else None
                hs.setdefault("layers", {})[model] = {
                    "layers": len(layers), "sum_ms": round(tot_ms, 3), "sum_best_ms": round(best_ms, 3),
                    "gflops": round(2 * tot_macs / (tot_ms * 1e6), 2) if tot_ms else None,
                    "gflops_best": round(best, 2) if best else None,
                    # best against best: both the run no other process interrupted
                    "fraction_of_peak": round(best / peak, 3) if peak and best else None}
    return s


def plot(result: dict, path: Path) -> bool:
    try:  # matplotlib: the optional [report] extra
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # after choosing the backend
    except ImportError:
        return False
    hosts = list(result["hosts"])
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    # 1: latency per model, 1 thread, both hosts
    ax = axes[0]
    labels, sg, ort = [], [], []
    for host in hosts:
        for suite in result["hosts"][host].get("suites", []):
            if suite["threads"] != 1:
                continue
            for model, m in suite["models"].items():
                if "runtimes" in m:
                    labels.append(f"{model}\n{host}")
                    sg.append(m["runtimes"].get("sparsegate-1t", {}).get("median_ms", 0))
                    ort.append(m["runtimes"].get("onnxruntime-web-1t", {}).get("median_ms", 0))
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], sg, 0.4, label="sparsegate")
    ax.bar([i + 0.2 for i in x], ort, 0.4, label="onnxruntime-web 1.30")
    ax.set_xticks(list(x), labels, fontsize=7)
    ax.set_ylabel("median latency, ms (1 thread)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    # 2: batch curve
    ax = axes[1]
    for host in hosts:
        for suite in result["hosts"][host].get("suites", []):
            if suite["threads"] != 1 or not suite.get("batches"):
                continue
            by = {}
            for b in suite["batches"]:
                for rt, v in b.get("runtimes", {}).items():
                    by.setdefault((b["name"], rt), []).append((b["batch"], v["median_ms"] / b["batch"]))
            for (model, rt), pts in by.items():
                pts.sort()
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                        label=f"{model} {rt.replace('-1t', '')} ({host})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch")
    ax.set_ylabel("ms per image (1 thread)")
    ax.legend(fontsize=6)
    # 3: per-layer GFLOP/s against the SIMD peak
    ax = axes[2]
    for host in hosts:
        for suite in result["hosts"][host].get("suites", []):
            peak = (suite.get("peak") or {}).get("gflops")
            for model, layers in suite.get("layers", {}).items():
                ax.scatter([x["macs"] for x in layers], [x["gflops"] for x in layers], s=10, label=f"{model} ({host})")
            if peak:
                ax.axhline(peak, linestyle="--", linewidth=1, label=f"SIMD peak ({host}) {peak:.1f}")
    ax.set_xscale("log")
    ax.set_xlabel("MACs of the layer")
    ax.set_ylabel("GFLOP/s (1 thread)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---------------------------------------------------------------- entry

def run(models=DEFAULT_MODELS, hosts=("node", "chromium"), threads=(1, 2), warmup=30, runs=20,
        batches=(1, 2, 4, 8), batch_models=("mobilenetv2", "blazeface"), batch_warmup=10, batch_runs=10,
        cold_reps=3, profile=True, profile_models=None, repo=None, log=print) -> dict:
    root = repo_root(repo)
    if shutil.which("node") is None:
        raise SparsegateError("node is not installed")
    if not (root / "web/node_modules/onnxruntime-web").exists():
        raise SparsegateError("onnxruntime-web is missing: run `cd web && npm ci`")
    if max(threads) > 1 and not (root / "web/src/sparsegate-mt.mjs").exists():
        raise SparsegateError("web/src/sparsegate-mt.mjs is missing: run `make wasm-mt`")
    log(f"preparing models in {cache_dir()}")
    prepared = [prepare_model(m) for m in models]
    batch_list, skipped = [], []
    for m in batch_models if batches else ():
        for b in batches:
            try:
                batch_list.append(prepare_model(m, b))
            except Exception as e:  # e.g. a Reshape that hard-codes batch 1 (BlazeFace)
                skipped.append({"model": m, "batch": b, "error": f"{type(e).__name__}: {e}"})
                log(f"batch {b} of {m} skipped: {type(e).__name__}: {e}")
    layers = {m: prepare_layers(m) for m in (profile_models or models)} if profile else {}
    peak = peak_wasm(root) if profile else None
    base = {"warmup": warmup, "runs": runs, "seed": 1, "batch_warmup": batch_warmup, "batch_runs": batch_runs}
    configs = []
    for t in threads:
        c = {**base, "threads": t, "models": prepared}
        if t == 1:
            c.update(batches=batch_list, layers=layers, peak=str(peak) if peak else None)
        configs.append(c)
    dist = root / "web/node_modules/onnxruntime-web/dist"
    result = {
        "machine": {"platform": platform.platform(), "cpu": _cpu(), "cores": os.cpu_count(),
                    "load_avg_start": os.getloadavg()},
        "settings": {**base, "threads": list(threads), "batches": list(batches), "cold_reps": cold_reps},
        "sizes": {"sparsegate.wasm": (root / "web/src/sparsegate.wasm").stat().st_size,
                  "sparsegate-mt.wasm": _size(root / "web/src/sparsegate-mt.wasm"),
                  "ort-wasm-simd-threaded.wasm": (dist / "ort-wasm-simd-threaded.wasm").stat().st_size},
        "hosts": {},
        "skipped": skipped,
    }
    if "node" in hosts:
        h = result["hosts"]["node"] = {"suites": [], "cold": {}}
        for c in configs:
            log(f"node: {c['threads']} thread(s)")
            h["suites"].append(run_node(root, c))
        for m in prepared:
            log(f"node: cold start {m['name']}")
            h["cold"][f"{m['name']}-1t"] = node_cold(root, m, 1, cold_reps)
        h["version"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    if "chromium" in hosts:
        log("chromium: " + ", ".join(f"{c['threads']} thread(s)" for c in configs) + ", cold starts")
        result["hosts"]["chromium"] = run_chromium(root, configs, [(m, 1, cold_reps) for m in prepared])
    result["machine"]["load_avg_end"] = os.getloadavg()
    result["summary"] = summarize(result)
    return result


def _size(p: Path):
    return p.stat().st_size if p.exists() else None


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def format_summary(s: dict) -> str:
    lines = [f"sparsegate.wasm {s['wasm_bytes']['sparsegate.wasm'] / 1024:.0f} KiB vs ort-wasm "
             f"{s['wasm_bytes']['ort-wasm-simd-threaded.wasm'] / 1024:.0f} KiB: ratio {s['wasm_size_ratio']}"]
    for host, hs in s["hosts"].items():
        for key in ("latency_1t", "latency_2t"):
            for model, row in hs.get(key, {}).items():
                times = ", ".join(f"{k} {v:.2f} ms" for k, v in row.items() if isinstance(v, (int, float)) and "/" not in k
                                  and not k.startswith("speedup"))
                extra = "".join(f"; {k} {v}" for k, v in row.items() if k.startswith("speedup"))
                lines.append(f"{host:8} {key:10} {model:12} {times}; sparsegate/ort {row['sparsegate/ort']}{extra}")
        for model, c in hs.get("cold_1t", {}).items():
            lines.append(f"{host:8} cold 1t    {model:12} sparsegate {c['sparsegate_ms']} ms, ort {c['ort_ms']} ms, "
                         f"ratio {c['ratio']}")
        if "simd_peak_gflops" in hs:
            lines.append(f"{host:8} SIMD peak {hs['simd_peak_gflops']} GFLOP/s")
        for model, l in hs.get("layers", {}).items():
            lines.append(f"{host:8} layers     {model:12} {l['layers']} conv/gemm layers alone: {l['gflops']} GFLOP/s "
                         f"(best runs {l.get('gflops_best')}) = {l['fraction_of_peak']} of peak")
    return "\n".join(lines)


def markdown(result: dict) -> str:
    """The tables of docs/benchmarks.md from a results file."""
    s = result.get("summary") or summarize(result)
    L = []
    sz = s["wasm_bytes"]
    L += ["| file | bytes | vs ort-wasm |", "|---|---:|---:|"]
    for k in ("sparsegate.wasm", "sparsegate-mt.wasm", "ort-wasm-simd-threaded.wasm"):
        if sz.get(k):
            L.append(f"| `{k}` | {sz[k]:,} | {sz[k] / sz['ort-wasm-simd-threaded.wasm']:.3f} |")
    for host, hs in s["hosts"].items():
        for key, title in (("latency_1t", "1 thread"), ("latency_2t", "2 threads")):
            rows = hs.get(key, {})
            if not rows:
                continue
            t = key[-2]
            L += ["", f"**{host}, {title}** (median ms, p90 in parentheses; interleaved)", ""]
            cols = [f"sparsegate-{t}t"] + (["sparsegate-1t"] if t != "1" else []) + [f"onnxruntime-web-{t}t"]
            L += ["| model | " + " | ".join(cols) + " | sparsegate / ort" + (" | 2t speedup" if t != "1" else "")
                  + " | wasm memory sg / ort (MiB) |",
                  "|---|" + "---:|" * (len(cols) + 2 + (t != "1"))]
            for model, row in rows.items():
                cells = [f"{row.get(c, float('nan')):.2f} ({row['p90'].get(c, float('nan')):.2f})" for c in cols]
                mem = row["memory_bytes"]
                memtxt = f"{mem.get(cols[0], 0) / 2**20:.0f} / {mem.get(cols[-1], 0) / 2**20:.0f}"
                sp = f" | {row.get(f'speedup_{t}t_over_1t')}" if t != "1" else ""
                L.append(f"| {model} | " + " | ".join(cells) + f" | {row['sparsegate/ort']}{sp} | {memtxt} |")
        if hs.get("cold_1t"):
            L += ["", f"**{host}, cold start to first result, 1 thread** (median ms)", "",
                  "| model | sparsegate | onnxruntime-web | ratio |", "|---|---:|---:|---:|"]
            for model, c in hs["cold_1t"].items():
                L.append(f"| {model} | {c['sparsegate_ms']} | {c['ort_ms']} | {c['ratio']} |")
        if hs.get("layers"):
            L += ["", f"**{host}, conv/gemm layers alone, 1 thread** (SIMD peak {hs.get('simd_peak_gflops')} GFLOP/s)", "",
                  "| model | layers | sum of medians (ms) | GFLOP/s (medians) | GFLOP/s (best runs) | best / peak |",
                  "|---|---:|---:|---:|---:|---:|"]
            for model, l in hs["layers"].items():
                L.append(f"| {model} | {l['layers']} | {l['sum_ms']} | {l['gflops']} | {l.get('gflops_best')} | "
                         f"{l['fraction_of_peak']} |")
    for host, h in result["hosts"].items():
        for suite in h.get("suites", []):
            if suite.get("batches"):
                L += ["", f"**{host}, batch curve, 1 thread** (median ms per batch)", "",
                      "| model | batch | sparsegate | onnxruntime-web | ms per image (sg) |", "|---|---:|---:|---:|---:|"]
                for b in suite["batches"]:
                    r = b.get("runtimes", {})
                    sg = r.get("sparsegate-1t", {}).get("median_ms")
                    ort = r.get("onnxruntime-web-1t", {}).get("median_ms")
                    L.append(f"| {b['name']} | {b['batch']} | {sg} | {ort if ort is not None else 'refused'} | "
                             f"{round(sg / b['batch'], 2) if sg else ''} |")
    return "\n".join(L)


def main(args) -> int:
    csv = lambda s, f=str: tuple(f(x) for x in s.split(",") if x)
    if args.report:
        result = json.loads(Path(args.report).read_text())
        result["summary"] = summarize(result)  # recomputed: the summary rules may be newer than the file
        print(format_summary(result["summary"]))
        print()
        print(markdown(result))
        return 0
    if getattr(args, "gate", None) is not None:  # gating statistics only (gating_bench.py)
        for model in csv(args.models):
            print("\n".join(gate_stats_lines(model, args.gate)))
        return 0
    if args.quick:
        args.warmup, args.runs, args.cold_reps, args.batches = 5, 5, 1, "1,2"
    t0 = time.time()
    result = run(models=csv(args.models), hosts=csv(args.hosts), threads=csv(args.threads, int),
                 warmup=args.warmup, runs=args.runs, batches=csv(args.batches, int),
                 batch_models=csv(args.batch_models), cold_reps=args.cold_reps, profile=not args.no_profile,
                 repo=args.repo, log=lambda m: print(m, file=sys.stderr))
    result["elapsed_s"] = round(time.time() - t0, 1)
    out = Path(args.out)
    out.write_text(json.dumps(result, indent=1))
    print(format_summary(result["summary"]))
    print(f"\nJSON: {out}")
    if args.plot and plot(result, Path(args.plot)):
        print(f"plot: {args.plot}")
    elif args.plot:
        print("plot skipped: pip install matplotlib")
    return 0


def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="benchmark against onnxruntime-web in Node and Chromium",
                       description=__doc__.split("\n\n")[0])
    b.add_argument("--models", default=",".join(DEFAULT_MODELS), help="zoo models (default: %(default)s)")
    b.add_argument("--hosts", default="node,chromium", help="node, chromium or both (default: %(default)s)")
    b.add_argument("--threads", default="1,2", help="thread counts, one process/page each (default: %(default)s)")
    b.add_argument("--warmup", type=int, default=30, help="warm-up runs per runtime (default: %(default)s)")
    b.add_argument("--runs", type=int, default=20, help="timed interleaved runs (default: %(default)s)")
    b.add_argument("--batches", default="1,2,4,8", help="batch sizes of the latency curve ('' for none)")
    b.add_argument("--batch-models", default="mobilenetv2,blazeface", help="models of the batch curve")
    b.add_argument("--cold-reps", type=int, default=3, help="cold starts per runtime and model (default: %(default)s)")
    b.add_argument("--no-profile", action="store_true", help="skip the per-layer profile and SIMD peak")
    b.add_argument("--quick", action="store_true", help="few runs (a smoke test, not a measurement)")
    b.add_argument("--gate", type=float, metavar="G", help="instead of the benchmark: run each model "
                   "(.sgm path or zoo name) once at gate knob G and print MACs executed vs dense, "
                   "overall and per layer")
    b.add_argument("--repo", help="the repository checkout (default: cwd or this package's)")
    b.add_argument("--report", metavar="JSON", help="print the summary and markdown tables of an earlier run")
    b.add_argument("-o", "--out", default="sparsegate-bench.json", help="JSON output (default: %(default)s)")
    b.add_argument("--plot", default="sparsegate-bench.png", help="plot output ('' for none)")
    b.set_defaults(func=main)
