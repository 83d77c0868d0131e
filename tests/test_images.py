import numpy as np
import pytest
from PIL import Image

from srcore.images import ImageReadError, read_image, write_image
from srcore.tensors import to_tensor, to_uint8


def _rgb(h=20, w=30, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_modes_become_rgb_uint8(tmp_path):
    rgb = _rgb()
    Image.fromarray(rgb).convert("L").save(tmp_path / "g.png")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    g16 = (np.arange(20 * 30).reshape(20, 30) * 100).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    for name in ("g", "a", "p", "g16"):
        a = read_image(tmp_path / f"{name}.png")
        assert a.shape == (20, 30, 3) and a.dtype == np.uint8, name
    assert np.array_equal(read_image(tmp_path / "a.png"), rgb)
    g = read_image(tmp_path / "g16.png")
    assert g[..., 0].max() == round(g16.max() / 257) and np.array_equal(g[..., 0], g[..., 1])


def test_exif_orientation_is_honoured(tmp_path):
    rgb = _rgb(10, 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    Image.fromarray(rgb).save(tmp_path / "r.jpg", exif=exif, quality=100)
    assert read_image(tmp_path / "r.jpg").shape == (40, 10, 3)


@pytest.mark.parametrize("content", [b"", b"not an image at all", "truncated"])
def test_bad_files_raise_naming_the_file(tmp_path, content):
    p = tmp_path / "bad.png"
    if content == "truncated":
        Image.fromarray(_rgb(64, 64)).save(p)
        p.write_bytes(p.read_bytes()[:300])
    else:
        p.write_bytes(content)
    with pytest.raises(ImageReadError, match="bad.png"):
        read_image(p)


def test_normalisation_round_trip_and_atomic_write(tmp_path):
    rgb = _rgb()
    t = to_tensor(rgb)
    assert t.shape == (3, 20, 30) and t.min() >= -1 and t.max() <= 1
    assert np.array_equal(to_uint8(t), rgb)
    write_image(tmp_path / "o.png", rgb)
    assert np.array_equal(read_image(tmp_path / "o.png"), rgb)
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temp file left behind
