import numpy as np
import pandas as pd
from PIL import Image

from srcore.report import figures


def test_busiest_window_finds_the_detail():
    img = np.full((200, 300, 3), 128, np.uint8)
    img[120:170, 40:90] = np.random.default_rng(0).integers(0, 256, (50, 50, 3))
    top, left = figures.busiest_window(img, 48)
    assert 112 <= top <= 124 and 36 <= left <= 44


def test_figures_are_written_as_png(tmp_path):
    hr = np.random.default_rng(1).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    row = pd.Series({"psnr_y": 30.0, "ssim_y": 0.8, "psnr_y_bicubic": 29.0, "psnr_y_gain": 1.0})
    figures.save(figures.compare("x.png", hr, hr // 2, hr, row, 32), tmp_path / "c.png")
    figures.save(figures.chain_figure(np.stack([hr] * 5)), tmp_path / "chain.png")
    curve = pd.DataFrame({"step": [1, 2], "loss": [0.2, 0.1]})
    figures.save(figures.training_figure({"train/loss": curve}), tmp_path / "t.png")
    figures.save(figures.gain_figure(["a", "b"], np.array([0.5, -0.1])), tmp_path / "g.png")
    for name in ("c.png", "chain.png", "t.png", "g.png"):
        assert Image.open(tmp_path / name).format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "chain.png", "g.png", "t.png"]
