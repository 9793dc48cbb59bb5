"""The command line, end to end through the real wasm runtime."""
import json

import numpy as np
import pytest

from sparsegate.vision import images
from sparsegate.tools.cli import main


def test_convert_inspect_run_fashion_cnn(tmp_path, capsys):
    out = tmp_path / "f.sgm"
    assert main(["convert", "fashion_cnn", "-o", str(out)]) == 0
    assert out.exists() and "fashion_cnn" in capsys.readouterr().out
    assert main(["inspect", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["ops"]["Conv"] == 3
    assert report["summary"]["macs"] > 1_000_000
    assert report["summary"]["inputs"][0]["shape"] == [1, 1, 28, 28]
    from sparsegate.zoo import fashion_mnist
    x, labels = fashion_mnist.load_inputs("test")[0][:1], fashion_mnist.load("test")[1]
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--top", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert f"(class {labels[0]})" in result["results"][0]


def test_convert_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "f.sgm"
    out.write_bytes(b"precious")
    assert main(["convert", "fashion_cnn", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(["convert", "fashion_cnn", "-o", str(out), "--force"]) == 0
    assert out.read_bytes()[:4] == b"SGM\x01"


def test_bad_arguments_get_clear_errors(tmp_path, capsys):
    assert main(["convert", "no_such_model.onnx"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["convert", "fashion_cnn", "-o", str(tmp_path / "x.sgm"), "--input-shape", "input"]) == 2
    assert "NAME=D0,D1" in capsys.readouterr().err


def test_inspect_reads_onnx_too(capsys):
    assert main(["inspect", "fashion_cnn"]) == 0
    assert "M MACs" in capsys.readouterr().out


@pytest.mark.slow
def test_run_detects_the_face_in_a_photo(tmp_path, capsys):
    sgm = tmp_path / "b.sgm"
    assert main(["convert", "blazeface", "-o", str(sgm)]) == 0
    photo = tmp_path / "astronaut.png"
    images.save_image(images.sample_images()["astronaut"], photo)
    assert main(["run", str(sgm), "--input", str(photo)]) == 0
    out = capsys.readouterr().out
    assert "face" in out and "box" in out
