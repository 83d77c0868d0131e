"""Short clips the video tests make with PyAV itself: moving or still frames, a variable frame rate,
an audio track, a subtitle track."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.helpers.images import smooth_image

TIME_BASE = Fraction(1, 1000)  # milliseconds: any timestamps can be written


def make_clip(
    path: Path,
    frames: int = 6,
    size: tuple[int, int] = (24, 32),
    times_ms: list[int] | None = None,
    still: bool = False,
    audio: bool = True,
    subtitles: bool = False,
    lossless: bool = True,
    faststart: bool = False,
) -> list[np.ndarray]:
    """Write a clip of `frames` frames (height, width) at the given times (default every 100 ms),
    the frames a pan over a smooth pattern (or one still frame), with a 48 kHz stereo sine in AAC
    and one subtitle when asked; faststart puts the index (and its frame count) first, as a
    streamed mp4 has it. Returns the frames as written (RGB)."""
    import av

    times_ms = times_ms or [100 * i for i in range(frames)]
    h, w = size
    pattern = smooth_image(h + 2 * frames, w + 2 * frames, seed=4)
    images = [
        pattern[:h, :w] if still else pattern[i : i + h, 2 * i : 2 * i + w] for i in range(frames)
    ]
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = w, h, "yuv444p" if lossless else "yuv420p"
        video.codec_context.time_base = TIME_BASE
        video.options = {"crf": "0"} if lossless else {}
        sound = out.add_stream("aac", rate=48000, layout="stereo") if audio else None
        text = out.add_mux_stream("mov_text") if subtitles else None
        for image, t in zip(images, times_ms):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = t, TIME_BASE
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            _write_sine(av, out, sound, seconds=times_ms[-1] / 1000 + 0.1)
        if text is not None:
            _write_subtitle(av, out, text)
    return images


def _write_sine(av, out, stream, seconds: float) -> None:
    n = int(48000 * seconds)
    t = np.arange(n) / 48000
    samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    planes = np.stack([samples, samples])
    frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="stereo")
    frame.sample_rate, frame.pts = 48000, 0
    out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _write_subtitle(av, out, stream) -> None:
    text = b"hello"
    packet = av.Packet(len(text).to_bytes(2, "big") + text)  # mov_text: length, then UTF-8
    packet.stream, packet.pts, packet.dts, packet.duration = stream, 0, 0, 300
    packet.time_base = Fraction(1, 1000)
    out.mux(packet)


def audio_of(path: Path) -> np.ndarray:
    """The decoded audio samples of a clip's first audio stream (channels x samples)."""
    import av

    with av.open(str(path)) as clip:
        return np.concatenate([f.to_ndarray() for f in clip.decode(audio=0)], axis=1)


def packets_of(path: Path, kind: str) -> list[bytes]:
    """The raw packets of a clip's first stream of `kind` (audio, subtitle), as stored."""
    import av

    with av.open(str(path)) as clip:
        stream = next(s for s in clip.streams if s.type == kind)
        return [bytes(p) for p in clip.demux(stream) if p.size]


def timestamps_of(path: Path) -> tuple[list[float], Fraction]:
    """(each video frame's time in seconds, the stream's average rate)."""
    import av

    with av.open(str(path)) as clip:
        stream = clip.streams.video[0]
        times = [float(f.pts * f.time_base) for f in clip.decode(stream)]
        return times, stream.average_rate
