"""Clips through srcore-upscale: timestamps (a variable rate too), sound and subtitles kept, a still
clip's identical frames, the batched path equal to frame by frame, bounded memory, the ONNX
backend, and one line for each bad clip while the batch goes on. Clips are made by PyAV itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srcore.commands.upscale import main
from srcore.common.errors import UserError
from srcore.config.sampling import SamplingSpec
from srcore.deploy import frames, video
from srcore.deploy.upscaler import Upscaler
from tests.helpers.app import model_files
from tests.helpers.clips import audio_of, make_clip, packets_of, timestamps_of
from tests.helpers.images import smooth_image

pytest.importorskip("av")

VFR_MS = [0, 100, 250, 300, 500, 800]  # a variable frame rate


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return model_files(tmp_path_factory.mktemp("video_models"))


def test_a_clip_keeps_its_timestamps_sound_and_subtitles_beside_an_image(models, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    make_clip(folder / "pan.mp4", times_ms=VFR_MS, subtitles=True)
    Image.fromarray(smooth_image(24, 32)).save(folder / "photo.png")
    out = tmp_path / "out"
    args = [str(folder), "-o", str(out), "--model", str(models["knob"]), "--scale", "2.5"]
    assert main(args) == 0
    assert Image.open(out / "photo.png").size == (80, 60)
    times, _ = timestamps_of(out / "pan.mp4")
    assert times == [t / 1000 for t in VFR_MS]
    assert [f.shape for f in video.frames_of(out / "pan.mp4")] == [(60, 80, 3)] * len(VFR_MS)
    for kind in ("audio", "subtitle"):  # copied packet for packet, never decoded
        assert packets_of(out / "pan.mp4", kind) == packets_of(folder / "pan.mp4", kind), kind
    assert np.array_equal(audio_of(out / "pan.mp4"), audio_of(folder / "pan.mp4"))
    assert sorted(p.name for p in out.iterdir()) == ["pan.mp4", "photo.png"]  # no temporary


def upscaled(up: Upscaler, src: Path, dst: Path, **options) -> list[np.ndarray]:
    spec = SamplingSpec(scale=2)
    video.upscale_clip(up, src, dst, spec, video.ClipOptions(crf=0, **options))
    return list(video.frames_of(dst))


def test_a_still_clip_gives_identical_frames_and_fresh_noise_would_not(models, tmp_path):
    make_clip(tmp_path / "still.mkv", frames=5, still=True, audio=False)
    up = Upscaler.load(models["knob"], "cpu")
    fixed = upscaled(up, tmp_path / "still.mkv", tmp_path / "fixed.mkv")
    assert len(fixed) == 5 and all(np.array_equal(f, fixed[0]) for f in fixed)
    fresh = upscaled(up, tmp_path / "still.mkv", tmp_path / "fresh.mkv", noise="fresh")
    assert not np.array_equal(fresh[0], fresh[1])


def test_the_batched_path_gives_the_frames_one_by_one_gives(models, tmp_path):
    make_clip(tmp_path / "pan.mkv", frames=6, audio=False)
    up = Upscaler.load(models["knob"], "cpu")
    one = upscaled(up, tmp_path / "pan.mkv", tmp_path / "one.mkv", batch=1)
    four = upscaled(up, tmp_path / "pan.mkv", tmp_path / "four.mkv", batch=4)
    assert frames.FrameEnlarger(up, SamplingSpec(scale=2), batch=4).batched((24, 32))
    assert not frames.FrameEnlarger(up, SamplingSpec(scale=2)).batched((24, 32))  # CPU: 1
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(one, four)) <= 1


def test_frames_stream_through_a_batch_at_a_time_whatever_the_length(models, tmp_path, monkeypatch):
    make_clip(tmp_path / "long.mkv", frames=120, audio=False, lossless=False)
    sizes, enlarge = [], frames.FrameEnlarger.__call__
    monkeypatch.setattr(
        frames.FrameEnlarger,
        "__call__",
        lambda self, fs: sizes.append(len(fs)) or enlarge(self, fs),
    )
    up = Upscaler.load(models["other"], "cpu")
    spec, options = SamplingSpec(scale=2), video.ClipOptions(batch=4)
    done = video.upscale_clip(up, tmp_path / "long.mkv", tmp_path / "out.mkv", spec, options)
    assert done.frames == 120 and sum(sizes) == 120 and max(sizes) <= 4, sizes


class Recorder:
    """A stand-in for FrameEnlarger: records the batch sizes it is given."""

    batch = 4

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, frames: list) -> list:
        self.sizes.append(len(frames))
        return []


def test_a_decoder_that_gives_many_frames_at_once_is_cut_into_batches():
    job = video.Transcoder.__new__(video.Transcoder)  # only the batching is exercised
    job.enlarge, job.written, job._check_size = Recorder(), 0, lambda frame, src: None
    rest = job._flush(list(range(10)), tqdm_stub(), Path("x.mp4"), whole=False)
    assert job.enlarge.sizes == [4, 4] and rest == [8, 9]
    assert job._flush(rest, tqdm_stub(), Path("x.mp4"), whole=True) == []
    assert job.enlarge.sizes == [4, 4, 2] and job.written == 10


def tqdm_stub():
    return type("Bar", (), {"update": lambda self, n: None})()


def test_an_onnx_graph_upscales_a_clip(exported, tmp_path):
    _, graph = exported
    make_clip(tmp_path / "pan.mp4", frames=3)
    up = Upscaler.load(graph)
    assert video.upscale_clip(up, tmp_path / "pan.mp4", tmp_path / "x4.mp4").frames == 3
    assert [f.shape for f in video.frames_of(tmp_path / "x4.mp4")] == [(96, 128, 3)] * 3


def test_each_bad_clip_is_one_line_and_the_batch_goes_on(models, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_text.mp4").write_text("not a clip")
    make_clip(folder / "b_whole.mp4", faststart=True, audio=False)
    data = (folder / "b_whole.mp4").read_bytes()
    (folder / "c_cut.mp4").write_bytes(data[: len(data) * 2 // 3])  # its index says 6 frames
    _sound_only(folder / "d_sound.m4a.mp4")
    Image.fromarray(smooth_image(24, 32)).save(folder / "e_photo.png")
    out = tmp_path / "out"
    code = main([str(folder), "-o", str(out), "--model", str(models["other"]), "--scale", "2"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 3, errors
    for name, words in (
        ("a_text.mp4", "not a video FFmpeg can read"),
        ("c_cut.mp4", "the stream ends at packet 3 of 6"),
        ("d_sound.m4a.mp4", "no video stream (streams: audio)"),
    ):
        assert any(name in e and words in e for e in errors), (name, "\n".join(errors))
    assert sorted(p.name for p in out.iterdir()) == ["b_whole.mp4", "e_photo.png"]
    code = main(
        [
            str(folder / "b_whole.mp4"),
            "-o",
            str(tmp_path / "x"),
            "--model",
            str(models["other"]),
            "--codec",
            "nope",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "b_whole.mp4: codec nope: this FFmpeg has no such encoder" in err
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_a_codec_the_container_cannot_hold_is_one_line(models, tmp_path):
    make_clip(tmp_path / "pan.mp4", frames=2, audio=False)
    up = Upscaler.load(models["other"], "cpu")
    options = video.ClipOptions(codec="libx264")
    with pytest.raises(UserError, match=r"pan.mp4: .*webm.*libx264"):
        video.upscale_clip(up, tmp_path / "pan.mp4", tmp_path / "pan.webm", None, options)
    assert list(tmp_path.iterdir()) == [tmp_path / "pan.mp4"]  # nothing left behind


def _sound_only(path: Path) -> None:
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((2, 4800), np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_a_rotated_clip_is_written_upright_without_its_rotation(models, tmp_path):
    import av

    image = smooth_image(24, 32, seed=4)
    image[:6, :8] = 255  # a white top-left corner
    with av.open(str(tmp_path / "phone.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv444p"
        stream.options = {"crf": "0"}
        stream.set_display_rotation(90)  # shown turned a quarter counterclockwise
        out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    up = Upscaler.load(models["other"], "cpu")
    video.upscale_clip(up, tmp_path / "phone.mp4", tmp_path / "up.mp4", SamplingSpec(scale=2))
    shown = next(video.frames_of(tmp_path / "up.mp4"))
    assert shown.shape == (64, 48, 3)
    miss = {k: np.abs(shown[::2, ::2].astype(int) - np.rot90(image, k)).mean() for k in (1, 3)}
    assert miss[1] < 10 < miss[3], miss  # turned as a player shows it, not the other way
    with av.open(str(tmp_path / "up.mp4")) as clip:
        assert next(clip.decode(video=0)).rotation == 0


@pytest.mark.parametrize("rotation, turned", [(90, (3, 2)), (-90, (3, 2)), (180, (2, 3))])
def test_a_rotated_frame_is_turned_upright(rotation, turned):
    rgb = np.arange(18, dtype=np.uint8).reshape(2, 3, 3)
    up = frames.upright(rgb, rotation)
    assert up.shape[:2] == turned
    assert np.array_equal(frames.upright(up, -rotation), rgb)  # the turn undone
    assert frames.even(np.zeros((61, 81, 3))).shape == (60, 80, 3)
