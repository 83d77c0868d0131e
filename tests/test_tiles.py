from dataclasses import replace

import numpy as np
import pytest

from srcore.common.tensors import to_tensor, to_uint8
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig
from srcore.diffusion.resshift import ResShift
from srcore.diffusion.sampler import VIEWS, super_resolve, unview, view
from srcore.diffusion.tiles import ramp, super_resolve_image, tile_starts
from tests.helpers.images import smooth_image, tiny_model

TILED_CASES = [  # (model settings, tile, sampling options)
    ({"stem": 1, "dct_block": 8}, 128, {}),
    ({"stem": 4, "dct_block": 4}, 256, {}),
    ({"stem": 2}, 128, {"sampler": "ddim", "samples": 2}),
    ({"stem": 4, "dct_block": 4}, 256, {"ensemble": True}),
]


@pytest.mark.parametrize(
    "cfg,tile,opts",
    TILED_CASES,
    ids=["notebook-layout", "stem4", "stem2-ddim-x2", "stem4-ensemble"],
)
def test_tiles_give_the_whole_image_within_one_grey_level(cfg, tile, opts):
    model, diffusion = tiny_model(**cfg), ResShift.from_config(DiffusionConfig()).respace(4)
    y0 = smooth_image(500, 700)
    whole = super_resolve_image(model, diffusion, y0, SamplingSpec(seed=5, **opts)).astype(
        np.float64
    )
    tiled = super_resolve_image(
        model, diffusion, y0, SamplingSpec(seed=5, tile=tile, overlap=32, **opts)
    )
    diff = np.abs(whole - tiled)
    assert len(tile_starts(700, tile, 32, model.cfg.size_multiple)) > 2
    # a tile that lost its origin (encodings, noise) is off by ~1 grey level on average
    assert diff.max() <= 1 and diff.mean() < 0.05, (diff.max(), diff.mean())
    other = super_resolve_image(
        model, diffusion, y0, SamplingSpec(seed=6, tile=tile, overlap=32, **opts)
    )
    assert np.abs(other.astype(float) - tiled).mean() > 0.05  # the seed matters


def test_tile_starts_cover_the_axis_on_the_grid_with_the_overlap():
    starts = tile_starts(700, 256, 32, 64)
    assert starts[0] == 0 and starts[-1] + 256 >= 700
    assert all(s % 64 == 0 for s in starts)
    assert all(b - a <= 256 - 32 for a, b in zip(starts, starts[1:]))
    assert tile_starts(200, 256, 32, 64) == [0]


def test_blend_weights_rise_and_fall_only_at_inner_edges():
    w = ramp(100, 32, rise=True, fall=False)
    assert w[0] < 0.01 and np.all(np.diff(w[:32]) > 0) and np.all(w[32:] == 1)
    both = ramp(100, 32, True, True)
    assert np.allclose(both, both[::-1])
    assert np.allclose(ramp(64, 32, True, False)[:32] + ramp(64, 32, False, True)[32:], 1)


def test_the_averaged_image_path_is_the_tensor_average():
    model, diffusion = tiny_model(stem=2), ResShift.from_config(DiffusionConfig()).respace(2)
    y0 = smooth_image(70, 90)
    for k, flip in VIEWS:  # the numpy branch of the views (the image path) inverts exactly
        assert np.array_equal(unview(view(y0, k, flip), k, flip), y0)
    opts = {"sampler": "ddim", "samples": 2, "ensemble": True}
    image = super_resolve_image(model, diffusion, y0, SamplingSpec(seed=4, **opts)).astype(float)
    mean = super_resolve(model, diffusion, to_tensor(y0)[None], 4, None, SamplingSpec(**opts))[0]
    assert np.abs(image - to_uint8(mean[0])).max() <= 1  # the same views and draws
    plain = super_resolve_image(model, diffusion, y0, SamplingSpec(seed=4)).astype(float)
    assert np.abs(image - plain).mean() > 0.05


def test_float_input_gives_the_unrounded_result_of_the_uint8_path():
    model, diffusion = tiny_model(stem=2), ResShift.from_config(DiffusionConfig()).respace(2)
    y0 = smooth_image(90, 130)
    exact = super_resolve_image(model, diffusion, y0, SamplingSpec(seed=1, tile=64, overlap=16))
    unrounded = super_resolve_image(
        model, diffusion, y0.astype(np.float32), SamplingSpec(seed=1, tile=64, overlap=16)
    )
    assert unrounded.dtype == np.float32 and np.array_equal(np.round(unrounded), exact)


def test_tiles_of_a_multi_scale_model_give_the_whole_image_at_a_non_integer_scale():
    model = tiny_model(stem=4, dct_block=4, scales=(1.0, 4.0))
    diffusion = ResShift.from_config(DiffusionConfig()).respace(2)
    y0 = smooth_image(300, 500)  # the bicubic base of a 120 x 200 LR at x2.5
    whole = super_resolve_image(model, diffusion, y0, SamplingSpec(seed=5, scale=2.5)).astype(
        np.float64
    )
    tiled = super_resolve_image(
        model, diffusion, y0, SamplingSpec(seed=5, tile=128, overlap=32, scale=2.5)
    )
    diff = np.abs(whole - tiled)
    assert diff.max() <= 1 and diff.mean() < 0.05, (diff.max(), diff.mean())
    other = super_resolve_image(
        model, diffusion, y0, SamplingSpec(seed=5, tile=128, overlap=32, scale=3.5)
    )
    assert np.abs(other.astype(float) - tiled).mean() > 0.05  # the scale reaches every tile


class Stop(Exception):
    pass


def test_progress_reports_every_tile_of_every_view_and_an_exception_stops_the_work():
    model, diffusion = tiny_model(stem=2), ResShift.from_config(DiffusionConfig()).respace(1)
    y0 = smooth_image(90, 130)
    m = model.cfg.size_multiple
    n = len(tile_starts(90, 64, 16, m)) * len(tile_starts(130, 64, 16, m))
    seen = []
    spec = SamplingSpec(seed=1, tile=64, overlap=16)
    quiet = super_resolve_image(model, diffusion, y0, spec)
    told = super_resolve_image(model, diffusion, y0, spec, lambda d, t: seen.append((d, t)))
    assert np.array_equal(told, quiet) and seen == [(k, n) for k in range(1, n + 1)]
    seen.clear()
    super_resolve_image(
        model, diffusion, y0, replace(spec, ensemble=True), lambda *a: seen.append(a)
    )
    assert seen == [(k, 8 * n) for k in range(1, 8 * n + 1)]  # one count over the 8 views
    seen.clear()

    def cancel(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        super_resolve_image(model, diffusion, y0, spec, cancel)
    assert seen == [1, 2]  # no tile after the one that raised
    whole = []
    super_resolve_image(model, diffusion, y0, SamplingSpec(), lambda *a: whole.append(a))
    assert whole == [(1, 1)]
