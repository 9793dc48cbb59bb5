"""Create -> run -> release cycles leave memory flat in both hosts (scripts/soak.py; its default
of 1000 cycles gives the figure in docs/architecture.md). A leaked session of BlazeFace is
megabytes (its arena and copies of the weights), so 200 cycles would show hundreds of MiB."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import soak  # noqa: E402


def test_two_hundred_cycles_leave_memory_flat(blazeface_sgm, capsys):
    result = soak.main(["--cycles", "200", "--model", str(blazeface_sgm)])
    capsys.readouterr()
    assert result["python"]["growth_mib"] < 8, result["python"]
    assert result["node"]["growth_mib"] < 32, result["node"]  # V8 frees wasm memories lazily
