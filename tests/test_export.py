import hashlib
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from srcore.commands.export import main
from srcore.commands.upscale import main as upscale_main
from srcore.common.errors import UserError
from srcore.common.tensors import to_tensor
from srcore.config.sampling import SamplingSpec
from srcore.config.schema import DiffusionConfig
from srcore.data.degrade import hr_side, upsample
from srcore.deploy.export import OneStepSampler, export_model
from srcore.deploy.onnx_backend import INPUTS, OnnxSampler
from srcore.deploy.onnx_check import LrOnlySampler, check_graph
from srcore.deploy.onnx_ops import pad_to_multiple, pillow_bicubic
from srcore.deploy.pictures import read_picture
from srcore.deploy.upscaler import Upscaler
from srcore.diffusion.resshift import ResShift
from srcore.diffusion.sampler import super_resolve
from srcore.diffusion.tiles import super_resolve_image
from srcore.net.checkpoint import load_model, save_checkpoint
from srcore.net.encodings import pad_reflect
from srcore.net.unet import at_level
from tests.helpers.images import deep_rgb, smooth_image, tiny_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

BORDER = 4  # output pixels left out of the parity checks (one LR pixel at x4)


@pytest.fixture(scope="module")
def knob_graph(tmp_path_factory):
    """(model file, its graph of `lr` alone): a multi-scale clean-up model (scale and level by
    FiLM) exported at x2.5 told 0.5, --lr-only at seed 2: one export for the non-integer scale,
    the level fixed in the graph and the one-input variant."""
    root = tmp_path_factory.mktemp("knob")
    pt, graph = root / "knob.pt", root / "knob.onnx"
    net = tiny_model(scales=(1.0, 4.0), scale_input="film", cleanup=True)
    save_checkpoint(pt, net, DiffusionConfig(), scale=4)
    options = ["--scale", "2.5", "--cleanup", "0.5", "--lr-only", "--seed", "2"]
    assert main([str(pt), str(graph), *options]) == 0
    return pt, graph


def run_lr_only(graph, lr):
    """A plain ONNX Runtime session fed {"lr": ...} alone, as chaiNNer runs a graph: uint8
    N x h x w x 3 in, uint8 N x H x W x 3 out."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    out = session.run(None, {"lr": (lr.astype(np.float32) / 255).transpose(0, 3, 1, 2)})[0]
    return np.round(out * 255).clip(0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def random_lr(n, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def run_graph(graph, lr, seeds, origin=(0, 0)):
    """The graph on uint8 N x h x w x 3 -> uint8 N x H x W x 3 (rounded like
    srcore.common.tensors)."""
    sampler = OnnxSampler(graph)
    n, h, w = lr.shape[:3]
    height, width = (hr_side(k, sampler.scale) for k in (h, w))
    feed = (
        (lr.astype(np.float32) / 255).transpose(0, 3, 1, 2),
        np.asarray(seeds, dtype=np.int64),
        np.tile(np.asarray(origin, dtype=np.int64), (n, 1)),
        np.arange(height),
        np.arange(width),
    )
    out = sampler.session.run(None, dict(zip(INPUTS, feed)))[0]
    return np.round(out * 255).clip(0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def inner(a):
    return a[BORDER:-BORDER, BORDER:-BORDER].astype(int)


@pytest.mark.parametrize("scale", [1, 2, 3, 4, 2.5, 3.7])
def test_the_graphs_bicubic_is_pillows(scale):
    for h, w in [(17, 23), (1, 1), (2, 9), (40, 31)]:
        lr = random_lr(2, h, w, seed=h * w)
        want = np.stack([upsample(x, scale) for x in lr])
        levels = torch.from_numpy(lr).permute(0, 3, 1, 2).int()
        got = pillow_bicubic(levels, *want.shape[1:3]).permute(0, 2, 3, 1).numpy()
        assert np.array_equal(got, want)


def test_pad_to_multiple_is_pad_reflect():
    for h, w in [(36, 160), (20, 20), (64, 64), (68, 92), (5, 70), (70, 5), (1, 1)]:
        x = torch.randn(2, 3, h, w)
        assert torch.equal(pad_to_multiple(x, 64), pad_reflect(x, 0, (-w) % 64, 0, (-h) % 64))


@pytest.mark.parametrize("n,h,w", [(1, 17, 23), (2, 32, 32), (1, 9, 40), (2, 5, 3)])
def test_the_graph_matches_the_pytorch_path(exported, n, h, w):
    pt, graph = exported
    model, diffusion_cfg, _ = load_model(pt)
    diffusion = ResShift.from_config(diffusion_cfg).respace(1)
    lr, seeds = random_lr(n, h, w, seed=n * h * w), [7, 11][:n]
    got = run_graph(graph, lr, seeds)
    for k in range(n):
        want = super_resolve_image(
            model, diffusion, upsample(lr[k], 4), SamplingSpec(seed=seeds[k], tile=0, scale=4)
        )
        assert got[k].shape == want.shape == (4 * h, 4 * w, 3)
        assert np.abs(inner(got[k]) - inner(want)).max() <= 1


def test_a_piece_at_an_origin_gets_the_whole_images_noise_and_encodings(exported):
    pt, graph = exported
    model, diffusion_cfg, _ = load_model(pt)
    diffusion = ResShift.from_config(diffusion_cfg).respace(1)
    lr = random_lr(1, 16, 16)
    got = run_graph(graph, lr, [3], origin=(64, 128))[0]
    y0 = to_tensor(upsample(lr[0], 4))[None]
    sr, _ = super_resolve(model, diffusion, y0, 3, torch.tensor([[64, 128]]), SamplingSpec(scale=4))
    want = np.round((sr[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    assert np.abs(inner(got) - inner(want)).max() <= 1
    assert np.abs(got.astype(int) - run_graph(graph, lr, [3])[0]).mean() > 0.5  # origin matters


def test_the_graph_carries_its_scale_and_multiple(exported):
    sampler = OnnxSampler(exported[1])
    assert sampler.scale == 4 and sampler.multiple == tiny_model().cfg.size_multiple
    meta = sampler.session.get_modelmeta().custom_metadata_map
    assert meta["format"] == "srcore-onnx/1" and meta["source"] == exported[0].name
    assert meta["source_sha256"] == hashlib.sha256(exported[0].read_bytes()).hexdigest()


def test_a_tile_gets_the_whole_images_bicubic_base(exported):
    """A tile is its LR crop with context, cut from the crop's enlargement: it equals the tile
    of the PyTorch path, which cuts the whole image's base."""
    pt, graph = exported
    model, diffusion_cfg, _ = load_model(pt)
    diffusion = ResShift.from_config(diffusion_cfg).respace(1)
    lr = random_lr(1, 30, 40, seed=3)[0]
    top, bottom, left, right = 32, 96, 64, 160  # output pixels, away from every image border
    sampler = OnnxSampler(graph)
    r0, c0 = top // 4 - 3, left // 4 - 3
    crop = lr[r0 : bottom // 4 + 3, c0 : right // 4 + 3].astype(np.float32) / 255
    rows, cols = np.arange(top, bottom) - 4 * r0, np.arange(left, right) - 4 * c0
    got = np.round(sampler.run(crop, 4, top, left, rows, cols) * 255)
    y0 = to_tensor(upsample(lr, 4)[top:bottom, left:right])[None]
    sr, _ = super_resolve(
        model, diffusion, y0, 4, torch.tensor([[top, left]]), SamplingSpec(scale=4)
    )
    want = np.round((sr[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    assert got.shape == want.shape == (64, 96, 3)
    assert np.abs(got - want).max() <= 1


def test_upscale_backend_onnx_writes_what_the_torch_backend_writes(exported, tmp_path, capsys):
    pt, graph = exported
    rgb = smooth_image(30, 45)
    rgba = Image.fromarray(rgb).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 45).astype(np.uint8), (30, 1))))
    rgba.save(tmp_path / "alpha.png")
    Image.fromarray(rgb).convert("L").save(tmp_path / "grey.png")
    Image.fromarray(smooth_image(70, 90, seed=2)).save(tmp_path / "tiled.png")
    cv2.imwrite(str(tmp_path / "deep.png"), deep_rgb(30, 45)[..., ::-1])
    images = [str(tmp_path / n) for n in ("alpha.png", "grey.png", "tiled.png", "deep.png")]
    outs = {}
    for backend, model in (("torch", pt), ("onnx", graph)):
        args = [*images, "-o", str(tmp_path / backend), "--model", str(model), "--tile", "128"]
        assert upscale_main([*args, "--backend", backend, "--seed", "5"]) == 0
        outs[backend] = {n: Image.open(tmp_path / backend / n) for n in ("alpha.png", "grey.png")}
        outs[backend]["tiled.png"] = Image.open(tmp_path / backend / "tiled.png")
    assert "4 file(s) upscaled x4" in capsys.readouterr().out
    for name in ("alpha.png", "grey.png"):
        a, b = outs["torch"][name], outs["onnx"][name]
        assert a.mode == b.mode and a.size == b.size == (180, 120)
        assert np.abs(inner(np.asarray(a)) - inner(np.asarray(b))).max() <= 1
    alphas = [np.asarray(outs[k]["alpha.png"])[..., 3] for k in ("torch", "onnx")]
    assert np.array_equal(*alphas)
    tiled = [np.asarray(outs[k]["tiled.png"]).astype(int) for k in ("torch", "onnx")]
    assert tiled[0].shape == tiled[1].shape == (280, 360, 3)
    assert np.abs(inner(tiled[0]) - inner(tiled[1])).max() <= 1  # the seams too
    deep = [read_picture(tmp_path / k / "deep.png") for k in ("torch", "onnx")]
    assert deep[1].deep and deep[0].rgb.shape == deep[1].rgb.shape == (120, 180, 3)
    # the graph's bicubic base is the 8-bit one: 16-bit files differ by up to two 8-bit levels
    assert np.abs(deep[0].rgb.astype(int) - deep[1].rgb).max() <= 2 * 257


def error_lines(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_upscale_backend_onnx_refuses_what_the_graph_cannot_do(exported, tmp_path, capsys):
    pt, graph = exported
    Image.fromarray(smooth_image(16, 16)).save(tmp_path / "a.png")
    foreign = tmp_path / "foreign.onnx"
    import onnx

    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    value = onnx.helper.make_tensor_value_info
    g = onnx.helper.make_graph(
        [node], "g", [value("x", 1, None)], [value("y", 1, None)]
    )  # a valid graph without srcore's metadata
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 18)]), foreign)
    cases = [
        (["--steps", "2"], graph, "steps 2: a graph runs one step"),
        (["--samples", "2"], graph, "samples 2: a graph draws once"),
        (["--ensemble"], graph, "ensemble: a graph runs one view"),
        (["--device", "cuda"], graph, "device cuda: an ONNX graph runs on the CPU"),
        (["--scale", "3"], graph, "exported at x4"),
        (["--tile", "100"], graph, "tile 100, overlap 32: the tile must be"),
        ([], tmp_path / "missing.onnx", "missing.onnx: ONNX file not found"),
        ([], pt, "a model file from training? drop --backend onnx"),
        ([], foreign, "not a graph from srcore-export"),
    ]
    for flags, model, words in cases:
        args = [str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--model", str(model)]
        assert upscale_main([*args, "--backend", "onnx", *flags]) == 2, flags
        lines = error_lines(capsys)
        assert len(lines) == 1 and words in lines[0], (flags, lines)
    args = [str(tmp_path / "a.png"), "-o", str(tmp_path / "ddim"), "--model", str(graph)]
    assert upscale_main([*args, "--backend", "onnx", "--sampler", "ddim", "--steps", "1"]) == 0
    assert upscale_main([*args, "--backend", "torch"]) == 2  # the graph given to PyTorch
    assert "an ONNX graph, not a model file" in error_lines(capsys)[0]
    assert not (tmp_path / "out").exists()


def test_export_refuses_in_one_line(tmp_path, capsys, monkeypatch):
    whole_map_dct = tmp_path / "dct0.pt"
    save_checkpoint(whole_map_dct, tiny_model(dct_block=0), DiffusionConfig(), scale=4)
    ranged = tmp_path / "multi.pt"
    save_checkpoint(ranged, tiny_model(scales=(1.0, 4.0)), DiffusionConfig(), scale=4)
    out = tmp_path / "out.onnx"
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    cases = [  # (model, out, options, the words of the one line)
        (whole_map_dct, out, [], "model.dct_block 0"),
        (ranged, out, ["--scale", "5"], "takes 1 to 4"),
        (tmp_path / "none.pt", out, [], "model file not found"),
        (ranged, out, ["--opset", "17"], "--opset 17"),
        (ranged, out, ["--opset", "99"], "--opset 99"),
        (ranged, tmp_path / "afile" / "x.onnx", [], "is not a folder"),
        (ranged, tmp_path / "adir", [], "a folder; give the ONNX file's name"),
        (ranged, ranged, [], "is the model file itself"),
    ]
    for model, dst, options, words in cases:
        assert main([str(model), str(dst), *options]) == 2
        lines = error_lines(capsys)
        assert len(lines) == 1 and words in lines[0], (model, dst, options, lines)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert main([str(ranged), str(tmp_path / "out.onnx")]) == 2
    assert "pip install 'srcore[onnx]'" in error_lines(capsys)[0]
    with pytest.raises(UserError, match="onnxruntime: pip install"):
        OnnxSampler(tmp_path / "x.onnx")
    assert not (tmp_path / "out.onnx").exists() and not list(tmp_path.glob(".*"))
    assert (tmp_path / "afile").read_text() == "x" and ranged.stat().st_size > 0


def test_a_damaged_graph_file_is_one_line(exported, tmp_path, capsys):
    import onnx

    proto = onnx.load(str(exported[1]))
    props = [p for p in proto.metadata_props if p.key != "scale"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(props)
    onnx.save(proto, str(tmp_path / "noscale.onnx"))
    (tmp_path / "cut.onnx").write_bytes(exported[1].read_bytes()[:1000])
    Image.fromarray(smooth_image(16, 16)).save(tmp_path / "a.png")
    for name, words in (
        ("noscale.onnx", "metadata is missing or damaged"),
        ("cut.onnx", "cannot load"),
    ):
        args = [str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--backend", "onnx"]
        assert upscale_main([*args, "--model", str(tmp_path / name)]) == 2
        lines = error_lines(capsys)
        assert len(lines) == 1 and words in lines[0], lines


@pytest.mark.slow
@pytest.mark.parametrize("scale", [3])
def test_a_multi_scale_model_exported_at_another_scale(tmp_path, scale):
    """x3 with the scale as an input plane, whole and in tiles (x2.5 by FiLM, told a clean-up
    level: test_a_knob_model_alone_in_its_graph_at_a_non_integer_scale). One export, the slow
    part."""
    pt, graph, knob = tmp_path / "multi.pt", tmp_path / "multi.onnx", scale == 2.5
    net = tiny_model(scales=(1.0, 4.0), scale_input="film" if knob else "channel", cleanup=knob)
    save_checkpoint(pt, net, DiffusionConfig(), scale=4)
    level = ["--cleanup", "0.5"] if knob else []
    assert main([str(pt), str(graph), "--scale", str(scale), *level]) == 0
    model, diffusion_cfg, _ = load_model(pt)
    diffusion = ResShift.from_config(diffusion_cfg).respace(1)
    assert OnnxSampler(graph).scale == scale
    for h, w in [(17, 23), (9, 40)]:
        lr = random_lr(1, h, w, seed=h)
        got, errors = inner(run_graph(graph, lr, [2])[0]), []
        for told in (0.5, 1.0) if knob else (None,):
            sampler = model if told is None else at_level(model, told)
            want = super_resolve_image(
                sampler, diffusion, upsample(lr[0], scale), SamplingSpec(seed=2, scale=scale)
            )
            assert got.shape == inner(want).shape
            errors.append(np.abs(got - inner(want)))
        assert errors[0].max() <= 1
        if knob:  # told 0.5, not the default 1
            assert errors[0].mean() < errors[1].mean() / 5
    if knob:
        meta = OnnxSampler(graph).session.get_modelmeta().custom_metadata_map
        assert meta["cleanup"] == "0.5"
    else:  # tiles on the grid of the network, LR crops on the grid of 3
        lr = random_lr(1, 50, 70, seed=1)[0]
        want = super_resolve_image(
            model, diffusion, upsample(lr, 3), SamplingSpec(seed=2, tile=64, scale=3)
        )
        got = OnnxSampler(graph).enlarge(lr.astype(np.float32) / 255, 2, tile=64)
        assert got.shape == want.shape == (150, 210, 3)
        assert np.abs(np.round(got) - want).max() <= 1


def test_a_graph_that_differs_from_its_module_is_caught(exported):
    """The check before writing: the exported graph against a network it was not made from."""
    import onnx

    proto = onnx.load(str(exported[1]))
    diffusion = ResShift.from_config(DiffusionConfig()).respace(1)
    check_graph(OneStepSampler(load_model(exported[0])[0], diffusion, 4), proto)  # its own: fine
    with pytest.raises(UserError, match="differs from PyTorch"):
        check_graph(OneStepSampler(tiny_model(seed=1), diffusion, 4), proto)


def test_a_clean_up_level_is_refused_for_a_model_without_the_knob(exported, tmp_path):
    with pytest.raises(UserError, match="has no clean-up knob"):
        export_model(exported[0], tmp_path / "x.onnx", SamplingSpec(cleanup=0.5))


def test_a_knob_model_alone_in_its_graph_at_a_non_integer_scale(knob_graph):
    """x2.5 by FiLM, told 0.5 inside the graph (not the default 1), at the seed fixed in it: the
    plain session's image is PyTorch's whole image, to the level."""
    import onnxruntime as ort

    pt, graph = knob_graph
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    (image,) = session.get_inputs()
    assert image.name == "lr" and [o.name for o in session.get_outputs()] == ["sr"]
    assert [isinstance(d, str) for d in image.shape] == [True, False, True, True]  # N, h, w free
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta["inputs"], meta["seed"], meta["scale"], meta["cleanup"]) == (
        "lr",
        "2",
        "2.5",
        "0.5",
    )
    model, diffusion_cfg, _ = load_model(pt)
    diffusion = ResShift.from_config(diffusion_cfg).respace(1)
    for h, w in [(17, 23), (9, 40)]:
        lr = random_lr(1, h, w, seed=h)
        got, errors = inner(run_lr_only(graph, lr)[0]), {}
        for told, seed in ((0.5, 2), (1.0, 2), (0.5, 3)):
            spec = SamplingSpec(seed=seed, scale=2.5)
            want = super_resolve_image(at_level(model, told), diffusion, upsample(lr[0], 2.5), spec)
            assert got.shape == inner(want).shape == (hr_side(h, 2.5) - 8, hr_side(w, 2.5) - 8, 3)
            errors[told, seed] = np.abs(got - inner(want))
        assert errors[0.5, 2].max() <= 1
        assert errors[0.5, 2].mean() < errors[1.0, 2].mean() / 5  # told 0.5, not the default 1
        assert errors[0.5, 2].mean() < errors[0.5, 3].mean() / 5  # at its seed


def test_upscaler_runs_an_lr_only_graph_on_whole_images(knob_graph):
    graph, rgb = knob_graph[1], smooth_image(30, 45, seed=4)
    up = Upscaler.load(graph)
    assert up.engine.lr_only and up.engine.fixed_seed == 2 and up.scale == 2.5
    got = up.upscale(rgb)
    want = run_lr_only(graph, rgb[None])[0]
    assert got.shape == want.shape == (75, 113, 3) and np.array_equal(got, want)
    # a tile is no error: the graph runs the whole image
    assert np.array_equal(up.upscale(rgb, tile=64, overlap=16), want)


def test_an_lr_only_graph_refuses_another_seed_in_one_line(exported, knob_graph, tmp_path, capsys):
    graph = knob_graph[1]
    up = Upscaler.load(graph, seed=2)
    for call in (
        lambda: up.upscale(smooth_image(8, 8), seed=3),
        lambda: Upscaler.load(graph, seed=3),
    ):
        with pytest.raises(UserError, match="seed 3: knob.onnx is an lr-only graph") as e:
            call()
        assert "\n" not in str(e.value) and "--lr-only --seed 3" in str(e.value)
    with pytest.raises(UserError, match="seed 3"):
        OnnxSampler(graph).enlarge(np.zeros((8, 8, 3), np.float32), 3)
    Image.fromarray(smooth_image(16, 16)).save(tmp_path / "a.png")
    args = [str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--model", str(graph)]
    assert upscale_main([*args, "--seed", "5"]) == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and "seed 5: knob.onnx is an lr-only graph" in lines[0], lines
    assert not (tmp_path / "out").exists()
    assert upscale_main([*args, "--seed", "2", "--tile", "100"]) == 0  # whole, not refused
    assert upscale_main([*args, "-o", str(tmp_path / "own")]) == 0  # its own seed by default
    assert Upscaler.load(graph).defaults.seed == 2
    assert main([str(exported[0]), str(tmp_path / "x.onnx"), "--seed", "2"]) == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and "only an --lr-only graph fixes its seed" in lines[0], lines


def test_the_check_runs_an_lr_only_graph_against_its_module(knob_graph):
    import onnx

    proto = onnx.load(str(knob_graph[1]))
    diffusion = ResShift.from_config(DiffusionConfig()).respace(1)
    own = OneStepSampler(at_level(load_model(knob_graph[0])[0], 0.5), diffusion, 2.5)
    check_graph(LrOnlySampler(own, seed=2), proto)  # its own: fine
    with pytest.raises(UserError, match="differs from PyTorch"):
        check_graph(LrOnlySampler(own, seed=1), proto)  # another seed fixed
    with pytest.raises(UserError, match="inputs are lr, not the module's"):
        check_graph(own, proto)
