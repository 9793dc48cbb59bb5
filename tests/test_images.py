"""Image loading and preprocessing per a model's META `preprocess`."""
import io

import numpy as np
import pytest
from PIL import Image

from sparsegate.vision import images
from sparsegate.errors import InputError

IMAGENET = {"layout": "NCHW", "size": [224, 224], "color": "RGB", "scale": 1 / 255,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "resize": "shorter_center_crop", "resize_shorter": 256}


def _photo(h=300, w=451):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_load_image_from_path_bytes_pil_and_arrays(tmp_path):
    rgb = _photo(40, 60)
    path = tmp_path / "p.png"
    Image.fromarray(rgb).save(path)
    for src in (path, str(path), path.read_bytes(), Image.fromarray(rgb), rgb):
        got = images.load_image(src)
        assert got.dtype == np.uint8 and np.array_equal(got, rgb), type(src)
    gray = rgb[:, :, 0]
    assert np.array_equal(images.load_image(gray), np.stack([gray] * 3, -1))
    assert np.array_equal(images.load_image(gray[:, :, None]), np.stack([gray] * 3, -1))
    rgba = np.concatenate([rgb, np.full((40, 60, 1), 7, np.uint8)], -1)
    assert np.array_equal(images.load_image(rgba), rgb)
    assert np.array_equal(images.load_image(rgb / 255.0), rgb)
    assert images.load_image(np.ones((4, 5), bool)).max() == 255


@pytest.mark.parametrize("bad, words", [
    (np.zeros((10, 10, 2), np.uint8), "shape"),
    (np.zeros((10, 10, 5), np.uint8), "shape"),
    (np.zeros((2, 10, 10, 3), np.uint8), "shape"),
    (np.zeros((0, 10, 3), np.uint8), "empty"),
    (np.full((10, 10, 3), 200.0), "[0, 1]"),
    (np.full((10, 10, 3), np.nan), "[0, 1]"),
    (np.full((10, 10, 3), 300, np.int32), "0..255"),
    (np.zeros((4, 4, 3), np.complex64), "dtype"),
    (b"definitely not a png", "not a readable image"),
    (12345, "cannot read an image"),
])
def test_load_image_rejects_non_images(bad, words):
    with pytest.raises(InputError) as e:
        images.load_image(bad)
    assert words in str(e.value)


def test_load_image_names_the_file_at_fault(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(InputError, match="notes.jpg"):
        images.load_image(text)
    with pytest.raises(InputError, match="no such image file"):
        images.load_image(tmp_path / "missing.png")


def test_shorter_center_crop_matches_the_classic_recipe():
    rgb = _photo(300, 451)
    x, t = images.preprocess(rgb, IMAGENET)
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    # Resize the shorter side to 256 with Pillow, cut the centre, normalize.
    im = Image.fromarray(rgb).resize((385, 256), Image.BILINEAR)
    left, top = (385 - 224) // 2, (256 - 224) // 2
    want = np.asarray(im)[top:top + 224, left:left + 224] / 255.0
    want = ((want - IMAGENET["mean"]) / IMAGENET["std"]).transpose(2, 0, 1)[None]
    assert np.abs(x - want).max() < 1e-5
    # The crop's top-left corner maps back inside the original, centred.
    x0, y0 = t.to_original(np.array([0.0, 0.0]))
    assert abs(x0 - left * 451 / 385) < 1e-6 and abs(y0 - top * 300 / 256) < 1e-6


def test_letterbox_keeps_aspect_pads_and_maps_back():
    rgb = np.full((100, 200, 3), 255, np.uint8)
    pre = {"layout": "NHWC", "size": [128, 128], "color": "RGB", "scale": 1 / 127.5,
           "mean": [1.0], "std": [1.0], "resize": "letterbox", "pad_value": 0}
    x, t = images.preprocess(rgb, pre)
    assert x.shape == (1, 128, 128, 3)
    # 200x100 → 128x64, centred: rows 0..31 and 96..127 are padding (pixel 0 → -1).
    assert np.allclose(x[0, :32], -1) and np.allclose(x[0, 96:], -1)
    assert np.allclose(x[0, 32:96], 1)
    box = t.to_original(np.array([0.0, 32.0, 128.0, 96.0]))
    assert np.allclose(box, [0, 0, 200, 100])


def test_stretch_gray_and_bgr():
    rgb = _photo(50, 70)
    x, t = images.preprocess(rgb, {"layout": "NCHW", "size": [28, 28], "color": "GRAY",
                                   "scale": 1 / 255, "mean": [0.5], "std": [0.5], "resize": "stretch"})
    assert x.shape == (1, 1, 28, 28) and -1 <= x.min() and x.max() <= 1
    assert np.allclose(t.to_original(np.array([28.0, 28.0])), [70, 50])
    pre = {"layout": "NHWC", "size": [8, 8], "scale": 1.0, "resize": "stretch"}
    a = images.preprocess(rgb, dict(pre, color="RGB"))[0]
    b = images.preprocess(rgb, dict(pre, color="BGR"))[0]
    assert np.array_equal(a[..., ::-1], b)


@pytest.mark.parametrize("change, words", [
    ({"resize": "zoom"}, "resize"),
    ({"layout": "CHWN"}, "layout"),
    ({"color": "CMYK"}, "color"),
    ({"mean": [0.1, 0.2]}, "mean"),
    ({"std": [0.0]}, "std"),
    ({"size": None}, "size"),
])
def test_preprocess_rejects_bad_metadata(change, words):
    with pytest.raises(InputError, match=words):
        images.preprocess(_photo(20, 20), dict(IMAGENET, **change))


def test_save_image_round_trips(tmp_path):
    rgb = _photo(20, 30)
    images.save_image(rgb, tmp_path / "a.png")
    assert np.array_equal(images.load_image(tmp_path / "a.png"), rgb)


def test_sample_images_are_rgb_photos():
    photos = images.sample_images()
    assert {"astronaut", "chelsea", "coffee", "rocket", "camera"} <= set(photos)
    for name, a in photos.items():
        assert a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8, name
        assert a.shape[0] >= 100 and a.shape[1] >= 100 and a.std() > 10, name
