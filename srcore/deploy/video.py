"""Video: a clip upscaled frame by frame as it streams, its sound and subtitles copied untouched.

Through PyAV (FFmpeg's libraries, bundled in its wheels): frames are decoded, upscaled `batch` at a
time and encoded as they go, so memory holds one batch whatever the clip's length. The rules:

- Timestamps: each output frame keeps its input frame's timestamp in the input's time base, so the
  frame rate, a variable rate and the audio sync are kept.
- Other streams: audio and subtitles are copied packet for packet (never decoded), with their
  tags; a stream FFmpeg cannot copy is left out with a line saying so. Data streams (GPS tracks),
  attachments, cover art and further video streams are dropped.
- Rotation: a clip whose display matrix says it is rotated (phones) is turned upright before
  upscaling, as EXIF rotation is for images, and written upright without the matrix.
- Colour: frames go to RGB and back with FFmpeg's default conversion (swscale's), so an untagged
  clip keeps its colours; colour tags are not copied. The sample aspect ratio is copied. 10-bit
  and HDR input is brought to 8 bits without tone mapping.
- Sides: an h x w clip becomes round(h s) x round(w s) (srcore.data.degrade's rule); 4:2:0 needs
  even sides, so an odd side loses its last row or column.
- Codec: libx264 (mp4, mov, mkv, avi, ts) or libvpx-vp9 (webm) unless told; crf 18 by default
  (0 is lossless); yuv420p.
- Noise: every frame gets the same position-keyed noise (the spec's seed), so a still scene gives
  bit-identical frames; `fresh` draws a new seed per frame (the studies compare the two).
- clean-up auto: the level is estimated once, from the first frame, and told to every frame.
- Failures: the clip is written under a temporary name and renamed at the end. An interrupted
  run, a stream that FFmpeg cannot decode, one that has fewer video packets than its index
  declares (a cut mp4 or mov), a frame size that changes mid-stream, or a codec FFmpeg lacks
  leaves nothing under the final name and raises one UserError naming the file. Containers that
  declare no count (mkv, webm, ts) keep what decodes, as FFmpeg does.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec
from srcore.data.degrade import hr_side
from srcore.deploy.frames import FrameEnlarger
from srcore.deploy.upscaler import Upscaler

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
COPIED = ("audio", "subtitle")


@dataclass(frozen=True)
class ClipOptions:
    """How a clip is written: codec (None: the container's default), crf, frames per network
    call (None: 4 on a GPU, 1 on the CPU, where batching was measured slower), noise (fixed: one
    seed for every frame; fresh: seed + frame index)."""

    codec: str | None = None
    crf: int = 18
    batch: int | None = None
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


@dataclass(frozen=True)
class ClipResult:
    """What upscale_clip wrote: frames, and the clean-up level told (auto: estimated)."""

    frames: int
    level: float | None


def upscale_clip(
    upscaler: Upscaler,
    src: Path,
    dst: Path,
    spec: SamplingSpec | None = None,
    options: ClipOptions = ClipOptions(),
    progress: bool = False,
) -> ClipResult:
    """Write `src` enlarged as `spec` says (None: the upscaler's defaults) to `dst`, a container
    named by its suffix. A UserError names src for a file that is not a clip, has no video stream,
    is corrupt, or asks for a codec or container FFmpeg lacks."""
    av = av_module()
    muxer, codec = _format(dst, options, src)
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
            with av.open(str(tmp), "w", format=muxer) as out:
                enlarge = FrameEnlarger(upscaler, spec, options.batch, options.noise)
                job = Transcoder(av, source, video, out, enlarge)
                job.start(codec, options.crf, src)
                result = job.run(progress, src)
        os.replace(tmp, dst)
        return result
    except (av.FFmpegError, ValueError, EOFError) as e:
        raise UserError(f"{src}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _format(dst: Path, options: ClipOptions, src: Path) -> tuple[str, str]:
    if dst.suffix.lower() not in FORMATS:
        raise UserError(f"{dst}: a clip's suffix is one of {', '.join(VIDEO_SUFFIXES)}")
    muxer, codec = FORMATS[dst.suffix.lower()]
    return muxer, options.codec or codec


def _check_codec(av, codec: str, src: Path) -> None:
    try:
        found = av.codec.Codec(codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise UserError(f"{src}: codec {codec}: this FFmpeg has no such encoder") from None
    if found.type != "video":
        raise UserError(f"{src}: codec {codec}: not a video encoder")


def _video_stream(source, src: Path):
    """The clip's first video stream that is not cover art, decoded in threads."""
    av = av_module()
    streams = [
        s for s in source.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if not streams or streams[0].codec_context is None:
        kinds = ", ".join(sorted({s.type for s in source.streams})) or "none"
        what = "no video stream" if not streams else "a video stream FFmpeg cannot decode"
        raise UserError(f"{src}: {what} (streams: {kinds})")
    streams[0].thread_type = "AUTO"
    return streams[0]


class Transcoder:
    """One clip: its encoder and copied streams, then demux, upscale, encode and mux as it goes."""

    def __init__(self, av, source, video, out, enlarge: FrameEnlarger) -> None:
        self.av, self.source, self.video, self.out, self.enlarge = av, source, video, out, enlarge
        self.copied: dict = {}
        self.size: tuple[int, int] | None = None  # (height, width) of the upright input frames
        self.written = self.packets = 0

    def start(self, codec: str, crf: int, src: Path) -> None:
        """Make the output's streams (all before the first packet is written)."""
        self.size = _upright_size(self.av, self.source.name, src)
        height, width = output_size(*self.size, self.enlarge.spec.scale)
        video = self.video
        encoder = self.out.add_stream(codec, rate=video.average_rate or video.guessed_rate or 25)
        encoder.height, encoder.width, encoder.pix_fmt = height, width, "yuv420p"
        encoder.codec_context.time_base = encoder.time_base = video.time_base
        if video.sample_aspect_ratio:
            encoder.codec_context.sample_aspect_ratio = video.sample_aspect_ratio
        encoder.options = {"crf": str(crf)}
        self.encoder = encoder
        self.out.metadata.update(self.source.metadata)
        for stream in self.source.streams:
            if stream.type in COPIED:
                try:
                    self.copied[stream] = copy = self.out.add_stream_from_template(stream)
                except ValueError as e:
                    tqdm.write(f"{src}: stream {stream.index} ({stream.type}) not copied: {e}")
                    continue
                copy.metadata.update(stream.metadata)
                copy.disposition = stream.disposition

    def run(self, progress: bool, src: Path) -> ClipResult:
        """Every frame through; a UserError for a cut stream or a size that changes."""
        video, pending = self.video, []
        total = video.frames or _estimated_frames(video)
        with tqdm(total=total, unit="frame", desc="frames", disable=not progress) as bar:
            for packet in self.source.demux(video, *self.copied):
                if packet.size == 0:  # the demuxer's empty packets: the flush is below
                    continue
                if packet.stream in self.copied:
                    packet.stream = self.copied[packet.stream]
                    self.out.mux(packet)
                    continue
                self.packets += 1
                pending += video.decode(packet)
                pending = self._flush(pending, bar, src, whole=False)
            pending += video.decode(None)
            self._flush(pending, bar, src, whole=True)
        self.out.mux(self.encoder.encode(None))
        if video.frames and self.packets < video.frames:
            raise UserError(f"{src}: the stream ends at packet {self.packets} of {video.frames}")
        return ClipResult(self.written, self.enlarge.level)

    def _flush(self, pending: list, bar, src: Path, whole: bool) -> list:
        """Upscale and encode full batches of `pending` (every frame when whole); the rest."""
        batch = self.enlarge.batch
        while len(pending) >= batch or (whole and pending):
            frames, pending = pending[:batch], pending[batch:]
            for frame in frames:
                self._check_size(frame, src)
            for rgb, pts in self.enlarge(frames):
                self._encode(rgb, pts)
            self.written += len(frames)
            bar.update(len(frames))
        return pending

    def _check_size(self, frame, src: Path) -> None:
        turned = round(frame.rotation / 90) % 2
        size = (frame.width, frame.height) if turned else (frame.height, frame.width)
        if size != self.size:
            h, w = size
            raise UserError(
                f"{src}: the frame size changes at frame {self.written} "
                f"(from {self.size[1]}x{self.size[0]} to {w}x{h}): not supported"
            )

    def _encode(self, rgb: np.ndarray, pts: int) -> None:
        av = self.av
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = pts, self.video.time_base
        self.out.mux(self.encoder.encode(frame.reformat(format="yuv420p")))


def _estimated_frames(video) -> int | None:
    """Frames of a stream that declares none, from its duration and rate (the bar's total)."""
    rate = video.average_rate or video.guessed_rate
    if video.duration and rate:
        return int(video.duration * video.time_base * rate)
    return None


def _upright_size(av, path: str, src: Path) -> tuple[int, int]:
    """(height, width) of the clip's first frame turned upright (read apart: a seek back would
    lose the packets before time 0, such as AAC's priming)."""
    with av.open(path) as clip:
        frame = next(clip.decode(video=0), None)
    if frame is None:
        raise UserError(f"{src}: no frame could be decoded")
    h, w = frame.height, frame.width
    return (w, h) if round(frame.rotation / 90) % 2 else (h, w)


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
