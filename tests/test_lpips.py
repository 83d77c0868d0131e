"""LPIPS on weights the test makes, in the two files' upstream layouts (nothing is downloaded)."""

import numpy as np
import pytest
import torch

from srcore.common.errors import UserError
from srcore.eval import lpips as lp
from srcore.eval.scoring import evaluate_images
from tests.helpers.images import smooth_image
from tests.helpers.lpips_weights import write_weights


def test_lpips_is_zero_for_equal_images_symmetric_and_grows_with_the_distortion(tmp_path):
    write_weights(tmp_path)
    net = lp.load_lpips(tmp_path)
    img = smooth_image(96, 96)
    rng = np.random.default_rng(0)
    noisy = [
        np.clip(img + rng.normal(0, s, img.shape), 0, 255).astype(np.uint8) for s in (4, 16, 48)
    ]
    assert lp.lpips_distance(net, img, img) == pytest.approx(0.0, abs=1e-7)
    d = [lp.lpips_distance(net, img, n) for n in noisy]
    assert 0 < d[0] < d[1] < d[2]
    assert lp.lpips_distance(net, noisy[1], img) == pytest.approx(d[1], rel=1e-5)


def test_every_weight_reaches_the_network(tmp_path):
    write_weights(tmp_path, seed=1)
    net = lp.load_lpips(tmp_path)
    saved = torch.load(tmp_path / lp.LINEAR, weights_only=True)
    assert torch.equal(net.lin[4].weight, saved["lin4.model.1.weight"])
    saved = torch.load(tmp_path / lp.BACKBONE, weights_only=True)
    assert torch.equal(net.features["10"].weight, saved["features.10.weight"])


def test_the_five_stages_have_alexnets_shapes(tmp_path):
    write_weights(tmp_path)
    stages = lp.load_lpips(tmp_path).stages(torch.zeros(1, 3, 224, 224))
    assert [tuple(f.shape[1:]) for f in stages] == [
        (64, 55, 55),
        (192, 27, 27),
        (384, 13, 13),
        (256, 13, 13),
        (256, 13, 13),
    ]


def test_features_are_compared_after_normalising_their_length(tmp_path):
    write_weights(tmp_path)  # zero biases: scaling every filter scales every feature
    net = lp.load_lpips(tmp_path)
    img, other = smooth_image(80, 80, 1), smooth_image(80, 80, 2)
    before = lp.lpips_distance(net, img, other)
    with torch.no_grad():
        for conv in net.features.values():
            conv.weight.mul_(3.0)
    assert lp.lpips_distance(net, img, other) == pytest.approx(before, rel=1e-4)


def test_missing_or_foreign_weights_are_one_line(tmp_path, capsys):
    with pytest.raises(UserError, match=lp.BACKBONE):
        lp.load_lpips(tmp_path)
    write_weights(tmp_path)

    class Payload:  # a pickled object: never unpickled
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"x": Payload()}, tmp_path / lp.LINEAR)
    with pytest.raises(UserError, match="--lpips-dir: .* does not hold LPIPS weights"):
        lp.load_lpips(tmp_path, "--lpips-dir")
    assert "ran" not in capsys.readouterr().out  # the pickled call was refused, not made


def test_evaluation_scores_lpips_beside_bicubic(tmp_path):
    write_weights(tmp_path)
    hr = smooth_image(64, 64)
    y0 = np.clip(hr.astype(int) + 20, 0, 255).astype(np.uint8)
    summary, rows, _ = evaluate_images([("a.png", hr, y0)], 4, None, lp.load_lpips(tmp_path))
    assert rows[0]["lpips"] == rows[0]["lpips_bicubic"] > 0  # bicubic alone: the same image
    assert summary["lpips"] == rows[0]["lpips"]
