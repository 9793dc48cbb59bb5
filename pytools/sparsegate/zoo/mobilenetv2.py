"""MobileNetV2 (torchvision layout) rebuilt in plain torch and exported to ONNX.

torchvision cannot be imported beside torch 2.13, so this module re-creates the network with
the same `state_dict` keys (`features.N.conv...`, `classifier.1`) and loads torchvision's
IMAGENET1K_V1 weights into it. torch is imported lazily: only `export_onnx` needs it.
"""
from __future__ import annotations

import pathlib
import warnings

from ..errors import SparsegateError

# (expand ratio t, output channels c, repeats n, first stride s): torchvision's table.
_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
             (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _import_torch():
    try:  # torch: the optional [train] extra
        import torch
    except ImportError as e:
        raise SparsegateError(
            "exporting MobileNetV2 to ONNX needs PyTorch: pip install torch==2.13.0 "
            "(or pip install 'sparsegate[train]')") from e
    return torch


def build_model():
    """Return an untrained torch MobileNetV2 whose state_dict keys match torchvision's."""
    torch = _import_torch()
    nn = torch.nn

    def conv_bn_relu(cin, cout, k, stride, groups=1):
        # torchvision's Conv2dNormActivation is a Sequential: keys .0 (conv), .1 (bn).
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, t):
            super().__init__()
            hidden = cin * t
            layers = [conv_bn_relu(cin, hidden, 1, 1)] if t != 1 else []
            layers += [conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
                       nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*layers)
            self.use_res = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self, num_classes=1000):
            super().__init__()
            feats = [conv_bn_relu(3, 32, 3, 2)]
            cin = 32
            for t, c, n, s in _SETTINGS:
                for i in range(n):
                    feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                    cin = c
            feats.append(conv_bn_relu(cin, 1280, 1, 1))
            self.features = nn.Sequential(*feats)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def forward(self, x):
            x = self.features(x)
            x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)
            return self.classifier(x)

    return MobileNetV2()


def export_onnx(weights: pathlib.Path, dest: pathlib.Path, opset: int = 13) -> None:
    """Load torchvision MobileNetV2 weights from `weights` (.pth) and write ONNX to `dest`.

    Input `input` 1x3x224x224 (ImageNet-normalized RGB), output `logits` 1x1000."""
    torch = _import_torch()
    model = build_model()
    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)  # strict: any key mismatch is a bug here
    model.eval()
    x = torch.zeros(1, 3, 224, 224)
    # The TorchScript exporter (dynamo=False) needs no extra packages and gives a plain graph;
    # it warns that it is deprecated, which is noise for our users.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (x,), str(dest), input_names=["input"], output_names=["logits"],
                          opset_version=opset, do_constant_folding=True, dynamo=False)
