"""The Python API: a model loaded once, then `upscale(image, scale=..., cleanup=...)`.

    import srcore
    up = srcore.Upscaler.load("models/model.pt")     # or an ONNX graph from srcore-export
    big = up.upscale("photo.jpg", scale=2.5, cleanup=0.5)

An image is a path, a Pillow image, or an array (H x W, or H x W x C with C 1, 2, 3 or 4; uint8 or
uint16) and comes back as the same kind (a path as an array), at its own bit depth, greyscale and
alpha kept as srcore-upscale keeps them; a list comes back as a list. Pillow opens 16-bit colour
files as 8-bit: give those as a path or a uint16 array. srcore-upscale calls the same object, so
its files hold the very pixels `upscale` returns.

Every option travels in a SamplingSpec; nothing is set globally. One Upscaler may serve several
threads: on the CPU their calls overlap, on a GPU they take turns (its CUDA graphs replay shared
buffers), so keep one Upscaler per GPU.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from srcore.common.errors import UserError
from srcore.config.sampling import AUTO, SamplingSpec, check_tile
from srcore.data.degrade import bicubic_resize, upsample
from srcore.deploy.onnx_backend import OnnxSampler
from srcore.deploy.pictures import (
    Picture,
    picture_from_array,
    picture_of,
    picture_to_array,
    picture_to_pil,
    read_picture,
)
from srcore.diffusion.loader import TrainedModel
from srcore.diffusion.tiles import Progress
from srcore.net.device import pick_device

BACKENDS = ("torch", "onnx")
TILE = 1024  # the tile side of a call that names none: bounded memory on large photos
DEEP = 257.0  # a 16-bit level per 8-bit level: the network sees [0, 255] either way


class Upscaler:
    """A trained model (a model file, or an ONNX graph from srcore-export) and the default
    sampling options of its calls."""

    def __init__(self, engine: TrainedModel | OnnxSampler, defaults: SamplingSpec) -> None:
        self.engine, self.defaults = engine, defaults
        on_gpu = isinstance(engine, TrainedModel) and engine.device.type == "cuda"
        self._turns = threading.Lock() if on_gpu else None
        self.spec(defaults)  # options that do not fit the model stop here, not at the first call

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        device: str = "auto",
        backend: str | None = None,
        **options: Any,
    ) -> Upscaler:
        """The model at `path`: a model file from training, or a graph from srcore-export (one
        step, on the CPU). device: auto (cuda when available), cpu or cuda. backend: torch or
        onnx (None: onnx for a .onnx file). options: SamplingSpec's fields, the defaults of
        every call (steps, sampler, samples, ensemble, tile, overlap, seed, scale, cleanup);
        srcore-upscale's defaults where none is given (tiles of TILE pixels)."""
        path = Path(path)
        defaults = SamplingSpec().updated(**{"tile": TILE, **options})
        if backend not in (None, *BACKENDS):
            raise UserError(f"backend {backend!r}: allowed {', '.join(BACKENDS)}")
        if backend == "onnx" or (backend is None and path.suffix.lower() == ".onnx"):
            if device == "cuda":
                raise UserError("device cuda: an ONNX graph runs on the CPU (allowed: auto, cpu)")
            check_onnx_options(defaults)  # before the graph loads
            graph = OnnxSampler(path)
            if graph.lr_only and "seed" not in options:  # the seed it fixes, unless told another
                defaults = defaults.updated(seed=graph.fixed_seed)
            return cls(graph, defaults)
        return cls(TrainedModel.load(path, pick_device(device)), defaults)

    @property
    def scale(self) -> float:
        """The enlargement of a call that names none."""
        return self.spec(self.defaults).scale

    def spec(self, spec: SamplingSpec) -> SamplingSpec:
        """`spec` with its blanks filled from the model, checked against it."""
        if isinstance(self.engine, TrainedModel):
            return self.engine.resolve(spec)
        return onnx_spec(self.engine, spec)

    def upscale(
        self, image: Any, scale: float | None = None, cleanup: float | None = None, **options
    ):
        """`image` enlarged `scale` times (None: the default), told clean-up level `cleanup` (a
        model with the knob; None: the default), other SamplingSpec fields as `options`. A path
        gives an array, a Pillow image a Pillow image, an array an array, a list a list."""
        if isinstance(image, list | tuple):
            return [self.upscale(i, scale, cleanup, **options) for i in image]
        overrides = {k: v for k, v in (("scale", scale), ("cleanup", cleanup)) if v is not None}
        spec = self.defaults.updated(**overrides, **options)
        if isinstance(image, Image.Image):
            picture = picture_of(_decoded(image))
            return picture_to_pil(self.upscale_picture(picture, spec))
        if isinstance(image, str | os.PathLike):
            return picture_to_array(self.upscale_picture(read_picture(image), spec))
        if isinstance(image, np.ndarray):
            return picture_to_array(self.upscale_picture(picture_from_array(image), spec))
        raise UserError(
            f"an image of type {type(image).__name__}: allowed a path, a Pillow image, a "
            "uint8/uint16 array, or a list of them"
        )

    def upscale_picture(
        self, picture: Picture, spec: SamplingSpec | None = None, progress: Progress = False
    ) -> Picture:
        """The picture enlarged as `spec` says (None: the defaults), by srcore.data.degrade's size
        rule, at its own bit depth, greyscale and alpha kept. progress: a tqdm bar (True) or a
        callback (tiles done, tiles in all) after each tile, which may raise to stop the work."""
        spec = spec or self.defaults
        if isinstance(self.engine, OnnxSampler):
            spec = onnx_spec(self.engine, spec)
            lr = (picture.rgb / (65535.0 if picture.deep else 255.0)).astype(np.float32)
            sr = self.engine.enlarge(lr, spec.seed, spec.tile, spec.overlap, progress)
            return finish_picture(picture, sr if picture.deep else _to_uint8(sr))
        sampler = self.engine.sampler(spec)  # resolved and checked once, here
        y0 = _base(picture, sampler.spec.scale)
        if self._turns is None:
            return finish_picture(picture, sampler.enlarge(y0, progress))
        with self._turns:
            return finish_picture(picture, sampler.enlarge(y0, progress))

    def turn(self) -> contextlib.AbstractContextManager:
        """Hold the model for one call made outside upscale_picture (a GPU serves one at a
        time; on the CPU calls overlap)."""
        return self._turns if self._turns is not None else contextlib.nullcontext()

    def cleanup_level(
        self, image: Any, scale: float | None = None, cleanup: float | str | None = None
    ) -> float | None:
        """The clean-up level upscale(image, scale, cleanup) tells the model: with cleanup auto,
        the one the model estimates from the image; None for a model without the knob (or a
        graph)."""
        told = {k: v for k, v in (("scale", scale), ("cleanup", cleanup)) if v is not None}
        spec = self.spec(self.defaults.updated(**told))
        if spec.cleanup != AUTO:
            return spec.cleanup
        picture = image if isinstance(image, Picture) else _picture(image)
        return self.engine.level_of(_base(picture, spec.scale))


def bicubic_picture(picture: Picture, scale: float) -> Picture:
    """The picture enlarged `scale` times by the bicubic base alone (what the model starts from):
    the size, bit depth, greyscale and alpha that upscale_picture gives, to compare it with."""
    return finish_picture(picture, _base(picture, scale))


def _picture(image: Any) -> Picture:
    """A path, a Pillow image or an array as the Picture upscale() reads from it."""
    if isinstance(image, Image.Image):
        return picture_of(_decoded(image))
    if isinstance(image, str | os.PathLike):
        return read_picture(image)
    return picture_from_array(image)


def _base(picture: Picture, scale: float) -> np.ndarray:
    """The bicubic base y0 of a picture's RGB (uint8, or float32 in [0, 255] for 16 bits)."""
    lr = picture.rgb if not picture.deep else (picture.rgb / DEEP).astype(np.float32)
    y0 = upsample(lr, scale)
    return y0.clip(0, 255) if picture.deep else y0


def onnx_spec(graph: OnnxSampler, spec: SamplingSpec) -> SamplingSpec:
    """`spec` checked against what an exported graph runs: one step, one draw, one view, the
    scale and clean-up level it was exported with. An lr-only graph (srcore-export --lr-only)
    runs whole images at the seed fixed in it: any tile is taken (it runs as 0), another seed is
    refused."""
    check_onnx_options(spec)
    if spec.scale not in (None, graph.scale):
        raise UserError(f"scale {spec.scale:g}: {graph.path} was exported at x{graph.scale:g} only")
    if refusal := graph.refuses_seed(spec.seed):
        raise UserError(refusal)
    if graph.lr_only:
        return replace(spec, steps=1, scale=graph.scale, tile=0)
    check_tile(spec.tile, spec.overlap, graph.multiple)
    return replace(spec, steps=1, scale=graph.scale)


def check_onnx_options(spec: SamplingSpec) -> None:
    """A UserError for what no exported graph runs: more than one step, draw or view, or a
    clean-up level other than the one it was exported with."""
    if spec.steps not in (None, 1):
        raise UserError(f"steps {spec.steps}: a graph runs one step (allowed: 1)")
    if spec.samples != 1:
        raise UserError(f"samples {spec.samples}: a graph draws once (allowed: 1)")
    if spec.ensemble:
        raise UserError("ensemble: a graph runs one view (allowed: False)")
    if spec.cleanup is not None:
        raise UserError(
            f"cleanup {spec.cleanup}: a graph runs the level it was exported with "
            "(srcore-export --cleanup)"
        )


def finish_picture(picture: Picture, sr: np.ndarray) -> Picture:
    """The enlarged RGB (uint8, or float32 in [0, 255] for a 16-bit picture) with the picture's
    greyscale, alpha (enlarged bicubically) and bit depth put back."""
    size = (sr.shape[1], sr.shape[0])
    if not picture.deep:
        alpha = None if picture.alpha is None else bicubic_resize(picture.alpha, size)
        return Picture(sr, alpha, picture.grey)
    if picture.grey:  # Pillow's "L" conversion (ITU-R 601-2 luma), at 16 bits
        sr = np.repeat((sr @ np.array([0.299, 0.587, 0.114], np.float32))[..., None], 3, axis=2)
    alpha = None
    if picture.alpha is not None:
        alpha = _to_uint16(bicubic_resize(picture.alpha.astype(np.float32), size))
    return Picture(_to_uint16(sr * DEEP), alpha, picture.grey)


def _decoded(im: Image.Image) -> Image.Image:
    """A Pillow image as srcore-upscale would have read it from its file: EXIF-rotated."""
    return ImageOps.exif_transpose(im)


def _to_uint8(a: np.ndarray) -> np.ndarray:
    return np.round(a).clip(0, 255).astype(np.uint8)


def _to_uint16(a: np.ndarray) -> np.ndarray:
    return np.round(a).clip(0, 65535).astype(np.uint16)
