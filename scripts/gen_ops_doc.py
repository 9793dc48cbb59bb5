"""Regenerates docs/ops.md: ONNX node cases through the real wasm runtime."""
from pathlib import Path

from sparsegate.testing.conformance import ops_markdown, run_all
from sparsegate.testing.onnx_cases import iter_cases

if __name__ == "__main__":
    results = run_all(iter_cases())
    out = Path(__file__).resolve().parents[1] / "docs" / "ops.md"
    out.write_text(ops_markdown(results))
    print(f"wrote {out}: {sum(r.status == 'pass' for r in results)} of {len(results)} cases pass")
