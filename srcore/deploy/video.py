"""Video: a clip upscaled frame by frame as it streams, its sound and subtitles copied untouched.

Through PyAV (FFmpeg's libraries, bundled in its wheels): frames are decoded, upscaled `batch` at a
time and encoded as they go, so memory holds one batch whatever the clip's length. The rules:

- Timestamps: each output frame keeps its input frame's timestamp in the input's time base, so the
  frame rate, a variable rate and the audio sync are kept.
- Other streams: audio and subtitles are copied packet for packet (never decoded); data streams
  (chapters, GPS) are dropped.
- Rotation: a clip whose display matrix says it is rotated (phones) is turned upright before
  upscaling, as EXIF rotation is for images, and written upright without the matrix.
- Sides: an h x w clip becomes round(h s) x round(w s) (srcore.data.degrade's rule); 4:2:0 needs
  even sides, so an odd side loses its last row or column.
- Codec: libx264 (mp4, mov, mkv, avi, ts) or libvpx-vp9 (webm) unless told; crf 18 by default
  (visually lossless for x264; 0 is lossless); yuv420p.
- Noise: every frame gets the same position-keyed noise (the spec's seed), so a still scene gives
  bit-identical frames; `fresh` draws a new seed per frame (the studies compare the two).
- Failures: the clip is written under a temporary name and renamed at the end. An interrupted run,
  a stream that is corrupt or ends before its declared frames, or a codec FFmpeg lacks leaves
  nothing under the final name and raises one UserError naming the file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from srcore.common.errors import UserError
from srcore.common.tensors import to_tensor, to_uint8
from srcore.config.sampling import AUTO, SamplingSpec
from srcore.data.degrade import hr_side, upsample
from srcore.deploy.pictures import Picture
from srcore.deploy.upscaler import Upscaler
from srcore.diffusion.loader import TrainedModel
from srcore.diffusion.sampler import super_resolve

FORMATS = {  # suffix -> (FFmpeg muxer, default codec)
    ".mp4": ("mp4", "libx264"),
    ".m4v": ("mp4", "libx264"),
    ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"),
    ".webm": ("webm", "libvpx-vp9"),
    ".avi": ("avi", "libx264"),
    ".ts": ("mpegts", "libx264"),
}
VIDEO_SUFFIXES = tuple(FORMATS)
NOISES = ("fixed", "fresh")
COPIED = ("audio", "subtitle")


@dataclass(frozen=True)
class ClipOptions:
    """How a clip is written: codec (None: the container's default), crf, frames per batch,
    noise (fixed: one seed for every frame; fresh: seed + frame index)."""

    codec: str | None = None
    crf: int = 18
    batch: int = 4
    noise: str = "fixed"


def is_video(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def av_module():
    """PyAV, or a UserError saying how to install it."""
    try:
        import av
    except ImportError:
        raise UserError("video needs PyAV: pip install av (or srcore[video])") from None
    return av


def upscale_clip(
    upscaler: Upscaler,
    src: Path,
    dst: Path,
    spec: SamplingSpec,
    options: ClipOptions = ClipOptions(),
    progress: bool = False,
) -> int:
    """Write `src` enlarged as `spec` says to `dst` (same container); returns the frames written.
    A UserError names src for a file that is not a clip, has no video stream, is corrupt, or asks
    for a codec FFmpeg lacks."""
    av = av_module()
    codec = options.codec or FORMATS[dst.suffix.lower()][1]
    _check_codec(av, codec, src)
    try:
        source = av.open(str(src))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise UserError(f"{src}: not a video FFmpeg can read ({e})") from None
    tmp = dst.parent / f".{dst.name}.{secrets.token_hex(4)}.tmp"
    try:
        with source:
            video = _video_stream(source, src)
            dst.parent.mkdir(parents=True, exist_ok=True)
            with av.open(str(tmp), "w", format=FORMATS[dst.suffix.lower()][0]) as out:
                frames = _transcode(
                    av, source, video, out, upscaler, spec, codec, options, progress
                )
        declared = video.frames
        if declared and frames < declared:
            raise UserError(f"{src}: the stream ends at frame {frames} of {declared}")
        os.replace(tmp, dst)
        return frames
    except av.FFmpegError as e:
        raise UserError(f"{src}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _check_codec(av, codec: str, src: Path) -> None:
    try:
        found = av.codec.Codec(codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise UserError(f"{src}: codec {codec}: this FFmpeg has no such encoder") from None
    if found.type != "video":
        raise UserError(f"{src}: codec {codec}: not a video encoder")


def _video_stream(source, src: Path):
    if not source.streams.video:
        kinds = ", ".join(sorted({s.type for s in source.streams})) or "none"
        raise UserError(f"{src}: no video stream (streams: {kinds})")
    video = source.streams.video[0]
    video.thread_type = "AUTO"
    return video


def _transcode(av, source, video, out, upscaler, spec, codec, options, progress) -> int:
    """Decode, upscale in batches, encode and mux as it goes; other streams copied. Frames."""
    enlarge = FrameEnlarger(upscaler, spec, options)
    height, width = output_size(*_upright_size(av, source.name), enlarge.spec.scale)
    encoder = out.add_stream(codec, rate=video.average_rate or video.guessed_rate or 25)
    encoder.height, encoder.width, encoder.pix_fmt = height, width, "yuv420p"
    encoder.codec_context.time_base = encoder.time_base = video.time_base
    encoder.options = {"crf": str(options.crf)}
    copied = {s: out.add_stream_from_template(s) for s in source.streams if s.type in COPIED}
    bar = tqdm(total=video.frames or None, unit="frame", desc="frames", disable=not progress)
    pending, written = [], 0
    for packet in source.demux(video, *copied):
        last = packet.size == 0  # the demuxer's empty packet at the end of each stream
        if packet.stream in copied:
            if not last:
                packet.stream = copied[packet.stream]
                out.mux(packet)
            continue
        pending += packet.decode()
        if len(pending) >= options.batch or last:  # a batch, or the decoder's last frames
            _encode(av, out, encoder, video, enlarge(pending))
            bar.update(len(pending))
            written, pending = written + len(pending), []
    _encode(av, out, encoder, video, enlarge(pending))
    out.mux(encoder.encode(None))
    bar.close()
    return written + len(pending)


def _upright_size(av, path: str) -> tuple[int, int]:
    """(height, width) of the clip's first frame turned upright (read apart: a seek back would
    lose the packets before time 0, such as AAC's priming)."""
    with av.open(path) as clip:
        frame = next(clip.decode(video=0), None)
    if frame is None:
        raise av.error.InvalidDataError(0, "no frame could be decoded")
    h, w = frame.height, frame.width
    return (w, h) if round(frame.rotation / 90) % 2 else (h, w)


def _encode(av, out, encoder, video, frames: list) -> None:
    """Encode upscaled frames [(rgb, pts)] into the encoder's stream."""
    for rgb, pts in frames:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = pts, video.time_base
        out.mux(encoder.encode(frame.reformat(format="yuv420p")))


class FrameEnlarger:
    """Decoded frames -> [(upscaled upright RGB with even sides, pts)], a batch at a time."""

    def __init__(self, upscaler: Upscaler, spec: SamplingSpec, options: ClipOptions) -> None:
        if options.noise not in NOISES:
            raise UserError(f"noise {options.noise!r}: allowed {', '.join(NOISES)}")
        if options.batch < 1:
            raise UserError(f"batch {options.batch}: allowed 1 or more")
        self.upscaler, self.options = upscaler, options
        self.spec = upscaler.spec(upscaler.defaults.updated(**_set(spec)))
        self.index = 0  # frames enlarged so far: the fresh noise's seed offset

    def __call__(self, frames: list) -> list[tuple[np.ndarray, int]]:
        if not frames:
            return []
        rgbs = [upright(f.to_ndarray(format="rgb24"), f.rotation) for f in frames]
        seeds = [
            self.spec.seed + (self.index + i if self.options.noise == "fresh" else 0)
            for i in range(len(rgbs))
        ]
        self.index += len(rgbs)
        if self.batched(rgbs[0].shape):
            srs = self._in_one_call(rgbs, seeds)
        else:
            srs = [
                self.upscaler.upscale_picture(
                    Picture(rgb, None, False), replace(self.spec, seed=s)
                ).rgb
                for rgb, s in zip(rgbs, seeds)
            ]
        return [(even(sr), f.pts) for sr, f in zip(srs, frames)]

    def batched(self, shape: tuple[int, ...]) -> bool:
        """Whether frames of `shape` go through the network together: a PyTorch model, one
        level told, one view, each frame one tile."""
        engine, spec = self.upscaler.engine, self.spec
        if not isinstance(engine, TrainedModel) or self.options.batch == 1:
            return False
        side = max(hr_side(shape[0], spec.scale), hr_side(shape[1], spec.scale))
        return spec.cleanup != AUTO and not spec.ensemble and (spec.tile == 0 or side <= spec.tile)

    def _in_one_call(self, rgbs: list[np.ndarray], seeds: list[int]) -> list[np.ndarray]:
        """The frames' SR from one call of the network on their stacked bicubic bases (the same
        keyed noise per frame as the per-frame path)."""
        sampler = self.upscaler.engine.sampler(self.spec)
        device = self.upscaler.engine.device
        y0 = torch.stack([to_tensor(upsample(rgb, self.spec.scale)) for rgb in rgbs]).to(device)
        seed = torch.tensor(seeds, dtype=torch.int64)
        sr, _ = super_resolve(sampler.model, sampler.diffusion, y0, seed, None, sampler.spec)
        return [to_uint8(item) for item in sr]


def _set(spec: SamplingSpec) -> dict:
    """The fields of spec that differ from a blank SamplingSpec (what the caller chose)."""
    blank = SamplingSpec()
    return {k: v for k, v in vars(spec).items() if v != getattr(blank, k)}


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A frame turned as its display matrix says (degrees counterclockwise, FFmpeg's sign)."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def even(rgb: np.ndarray) -> np.ndarray:
    """The frame with an odd side's last row or column dropped (4:2:0 needs even sides)."""
    h, w = rgb.shape[:2]
    return rgb[: h - h % 2, : w - w % 2]


def output_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) of a clip's frames enlarged `scale` times, made even."""
    h, w = hr_side(height, scale), hr_side(width, scale)
    return h - h % 2, w - w % 2


def frames_of(path: Path) -> Iterator[np.ndarray]:
    """The decoded RGB frames of a clip (tests and studies)."""
    av = av_module()
    with av.open(str(path)) as clip:
        for frame in clip.decode(video=0):
            yield frame.to_ndarray(format="rgb24")
