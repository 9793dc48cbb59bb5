"""Detection decoding: synthetic outputs (fast) and the real detectors through onnxruntime."""
import numpy as np
import pytest

from sparsegate.vision import detect, images
from sparsegate.errors import InputError
from sparsegate.vision.images import Transform


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.8, 0.9, 0.7], np.float32)
    assert list(detect.nms(boxes, scores, 0.5)) == [1, 2]
    assert list(detect.nms(boxes, scores, 0.99)) == [1, 0, 2]
    assert list(detect.nms(boxes, scores, 0.5, max_keep=1)) == [1]


def test_weighted_nms_averages_a_cluster():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.75, 0.25, 0.9], np.float32)
    (s0, b0, _), (s1, b1, _) = detect.weighted_nms(boxes, scores, 0.3)
    assert s0 == pytest.approx(0.9) and np.allclose(b0, boxes[2])
    assert s1 == pytest.approx(0.75) and np.allclose(b1, [0.5, 0, 10.5, 10])


def _yolo_output(rows, classes=3, n=50):
    """1 x (4 + classes) x n with the given (cx, cy, w, h, class, score) rows, zeros elsewhere."""
    out = np.zeros((1, 4 + classes, n), np.float32)
    for i, (cx, cy, w, h, c, s) in enumerate(rows):
        out[0, :4, i] = cx, cy, w, h
        out[0, 4 + c, i] = s
    return out


def test_yolov8_decodes_boxes_per_class_and_maps_to_the_image():
    out = _yolo_output([(50, 150, 20, 20, 0, 0.9), (52, 150, 20, 20, 0, 0.6),  # duplicate: dropped
                        (50, 150, 20, 20, 1, 0.5),                           # other class: kept
                        (200, 100, 10, 40, 2, 0.1)])                         # below threshold
    # Letterbox of a 640x320 photo into 320x320: scale 0.5, 80 rows of padding on top.
    t = Transform(0.5, 0.5, 0, 80, 640, 320)
    dets = detect.decode_yolov8(out, t, labels=["a", "b", "c"], score_threshold=0.25)
    assert [(d["label"], d["class"], round(d["score"], 2)) for d in dets] == [("a", 0, 0.9), ("b", 1, 0.5)]
    assert np.allclose(dets[0]["box"], [80, 120, 120, 160])
    agnostic = detect.decode_yolov8(out, None, score_threshold=0.25, class_agnostic=True)
    assert len(agnostic) == 1 and agnostic[0]["box"] == [40, 140, 60, 160]


def test_yolov8_rejects_a_wrong_shape():
    with pytest.raises(InputError, match="YOLOv8 output"):
        detect.decode_yolov8(np.zeros((1, 3, 10)))
    with pytest.raises(InputError, match="one image at a time"):
        detect.decode_yolov8(np.zeros((2, 7, 10)))


def test_blazeface_anchors_follow_mediapipe_front():
    a = detect.blazeface_anchors()
    assert a.shape == (896, 2)
    assert np.allclose(a[0], [0.5 / 16, 0.5 / 16]) and np.allclose(a[1], a[0])
    assert np.allclose(a[2], [1.5 / 16, 0.5 / 16])
    assert np.allclose(a[511], [15.5 / 16, 15.5 / 16])
    assert np.allclose(a[512:518], [0.5 / 8, 0.5 / 8])  # six anchors per 8x8 cell
    assert np.allclose(a[-1], [7.5 / 8, 7.5 / 8])


def test_blazeface_decodes_a_synthetic_face():
    anchors = detect.blazeface_anchors()
    regs, logits = np.zeros((896, 16), np.float32), np.full((896, 1), -10, np.float32)
    k = 512 + (3 * 8 + 4) * 6  # stride-16 map, row 3, column 4: anchor centre (72, 56) px
    logits[k] = 5.0
    regs[k, :4] = [2, -4, 32, 40]            # centre offset and size in input pixels
    regs[k, 4:] = np.tile([1.0, 1.0], 6)     # keypoints one pixel right and down of the anchor
    split = [logits[None, :512], logits[None, 512:], regs[None, :512], regs[None, 512:]]
    for outputs in (split, [regs[None], logits[None]]):
        faces = detect.decode_blazeface(outputs)
        assert len(faces) == 1
        f = faces[0]
        assert np.allclose(anchors[k] * 128, [72, 56])
        assert np.allclose(f["box"], [74 - 16, 52 - 20, 74 + 16, 52 + 20], atol=1e-4)
        assert np.allclose(f["keypoints"], [[73, 57]] * 6, atol=1e-4)
        assert f["score"] == pytest.approx(1 / (1 + np.exp(-5)), rel=1e-6)
    # Mapped back through a 2x letterbox with 10 px of padding on the left.
    t = Transform(0.5, 0.5, 10, 0, 236, 256)
    f = detect.decode_blazeface(split, t)[0]
    assert np.allclose(f["box"], [(58 - 10) * 2, 64, (90 - 10) * 2, 144], atol=1e-3)


def test_blazeface_rejects_wrong_outputs():
    with pytest.raises(InputError, match="regressors"):
        detect.decode_blazeface([np.zeros((1, 896, 4))])
    with pytest.raises(InputError, match="anchors"):
        detect.decode_blazeface([np.zeros((1, 10, 16)), np.zeros((1, 10, 1))])


def test_decode_rejects_an_unknown_kind():
    with pytest.raises(InputError, match="postprocess kind"):
        detect.decode({"postprocess": {"kind": "mystery"}}, [np.zeros(3)])


# Real detectors through onnxruntime. They download on first use: slow.

def _run(name, photo):
    import onnxruntime as ort
    from sparsegate import zoo
    meta = zoo.info(name)
    sess = ort.InferenceSession(str(zoo.fetch(name)), providers=["CPUExecutionProvider"])
    x, t = images.preprocess(photo, meta["preprocess"])
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    return meta, dict(zip([o.name for o in sess.get_outputs()], outs)), t


def _iou(a, b):
    return float(detect.iou_one_to_many(np.asarray(a), np.asarray([b]))[0])


@pytest.mark.slow
def test_yolov8n_finds_the_faces_in_two_photos():
    photos = images.sample_images()
    # NudeNet's classes include faces; the astronaut's face and the cameraman's face.
    for photo, label, where in (("astronaut", "FACE_FEMALE", (175, 85, 275, 180)),
                                ("camera", "FACE_MALE", (180, 125, 265, 200))):
        meta, outs, t = _run("yolov8n", photos[photo])
        dets = detect.decode(meta, outs, t)
        assert dets, photo
        for d in dets:
            x1, y1, x2, y2 = d["box"]
            assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512 and 0.25 <= d["score"] <= 1
        best = dets[0]
        assert best["label"] == label and _iou(best["box"], where) > 0.7, (photo, best)


@pytest.mark.slow
def test_yolov8n_boxes_follow_the_photo_when_it_moves():
    photo = images.sample_images()["astronaut"]
    canvas = np.full((600, 1000, 3), 200, np.uint8)
    canvas[50:562, 400:912] = photo
    base = detect.decode(*_run("yolov8n", photo))[0]["box"]
    moved = detect.decode(*_run("yolov8n", canvas))[0]["box"]
    assert _iou(np.add(base, [400, 50, 400, 50]), moved) > 0.8


@pytest.mark.slow
def test_blazeface_finds_exactly_one_face_on_the_astronaut():
    photo = images.sample_images()["astronaut"]
    meta, outs, t = _run("blazeface", photo)
    faces = detect.decode(meta, outs, t)
    assert len(faces) == 1
    face = faces[0]
    assert face["score"] > 0.8
    assert _iou(face["box"], (175, 80, 272, 177)) > 0.7
    (rx, ry), (lx, ly), (nx, ny), (mx, my) = face["keypoints"][:4]
    assert rx < nx < lx and ry < ny < my and ly < ny  # eyes above the nose above the mouth
    # The YOLOv8n (NudeNet) face box agrees with BlazeFace's.
    yolo = detect.decode(*_run("yolov8n", photo))[0]
    assert _iou(yolo["box"], face["box"]) > 0.7


@pytest.mark.slow
def test_blazeface_finds_no_face_where_there_is_none():
    photos = images.sample_images()
    for name in ("coffee", "rocket", "coins", "page"):
        assert detect.decode(*_run("blazeface", photos[name])) == [], name
