import numpy as np
import pytest
from PIL import Image

from srcore.common.images import ImageReadError, read_image, write_image
from srcore.common.tensors import to_tensor, to_uint8
from srcore.deploy.pictures import read_picture, write_picture
from tests.helpers.images import deep_rgb, png_header_only


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


def test_a_header_claiming_billions_of_pixels_is_refused_naming_the_file(tmp_path):
    png_header_only(tmp_path / "bomb.png", 60000, 60000)
    with pytest.raises(ImageReadError, match="bomb.png: refused"):
        read_image(tmp_path / "bomb.png")
    with pytest.raises(ImageReadError, match="bomb.png"):
        read_picture(tmp_path / "bomb.png")


@pytest.mark.parametrize("alpha", [False, True])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_colour_is_read_and_written_at_16_bits(tmp_path, suffix, alpha):
    import cv2

    a = deep_rgb(20, 30, alpha)
    bgr = np.concatenate([a[..., 2::-1], a[..., 3:]], axis=2)
    assert cv2.imwrite(str(tmp_path / f"in{suffix}"), bgr)
    pic = read_picture(tmp_path / f"in{suffix}")
    assert pic.deep and not pic.grey and np.array_equal(pic.rgb, a[..., :3])
    assert (pic.alpha is not None) == alpha and (not alpha or np.array_equal(pic.alpha, a[..., 3]))
    write_picture(tmp_path / "out.png", pic)
    again = read_picture(tmp_path / "out.png")
    assert np.array_equal(again.rgb, a[..., :3]) and again.deep
    assert read_image(tmp_path / f"in{suffix}").dtype == np.uint8  # the pipeline's reader: 8 bits


def test_16_bit_greyscale_stays_16_bit_and_grey(tmp_path):
    grey = (np.arange(20 * 30).reshape(20, 30) * 97).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    pic = read_picture(tmp_path / "g16.png")
    assert pic.deep and pic.grey and np.array_equal(pic.rgb[..., 1], grey)
    write_picture(tmp_path / "out.png", pic)
    out = Image.open(tmp_path / "out.png")
    assert out.mode.startswith("I;16") and np.array_equal(np.asarray(out), grey)
