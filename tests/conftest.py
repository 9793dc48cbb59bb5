"""Shared fixtures: real models converted once per test session."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test helper modules (mutations, browser_util)


def _converted(tmp_path_factory, name):
    import sparsegate
    from sparsegate import zoo
    out = tmp_path_factory.getbasetemp() / f"{name}.sgm"
    if not out.exists():
        sparsegate.convert(zoo.fetch(name), out, metadata=zoo.info(name))
    return out


@pytest.fixture(scope="session")
def fashion_sgm(tmp_path_factory):
    return _converted(tmp_path_factory, "fashion_cnn")


@pytest.fixture(scope="session")
def mobilenet_sgm(tmp_path_factory):
    return _converted(tmp_path_factory, "mobilenetv2")


@pytest.fixture(scope="session")
def blazeface_sgm(tmp_path_factory):
    return _converted(tmp_path_factory, "blazeface")


@pytest.fixture(scope="session")
def blazeface_back_sgm(tmp_path_factory):
    return _converted(tmp_path_factory, "blazeface_back")


@pytest.fixture(scope="session")
def yolo_sgm(tmp_path_factory):
    return _converted(tmp_path_factory, "yolov8n")
