"""What one press of the page's button runs: a Request, worked in a thread as a Job.

A job makes the input the models see (the image as given, or in "shrink first" mode its LR made
from it as the evaluation makes one: clean bicubic or the `real` degradation), then the two sides
of the slider: the right is model A, the left bicubic, the original (shrink first) or model B.
Each side is a Result kept by what made it, so a change re-runs only what it touches: another
model B re-runs B alone, another split of the slider nothing. In shrink-first mode each side is
scored against the original as the evaluation scores (PSNR/SSIM on Y, border ceil(scale), 8 bits).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass

from srcore.app.catalogue import Catalogue, naming
from srcore.app.request import BICUBIC, ORIGINAL, Request
from srcore.app.sources import Source, Sources, download_name, eight_bits, preview_png
from srcore.common.cli import one_line
from srcore.common.errors import UserError
from srcore.config.schema import RealConfig
from srcore.data.named import lr_named
from srcore.deploy.pictures import Picture
from srcore.deploy.upscaler import bicubic_picture
from srcore.diffusion.tiles import Report
from srcore.eval.metrics import score

KEYS = ("psnr_y", "ssim_y")  # the scores shown in shrink-first mode (None: identical images)
JOBS_KEPT = 64  # finished jobs whose status a page may still ask for
RESULTS_KEPT = 32  # results kept for re-use (a 1920 x 1280 result is about 10 MB with its preview)
RESULTS_BYTES = 2**31  # and at most this many bytes of them (the newest is always kept)


class Cancelled(Exception):
    """Raised in the sampling loop when the job is cancelled (stops it at the next tile)."""


@dataclass
class Result:
    """One side of the slider: the picture, how it was made and scored, and its preview, encoded
    when first asked for (the page asks for both sides at once: they encode in parallel)."""

    id: str
    label: str
    picture: Picture
    seconds: float
    filename: str  # what a download is called (srcore.app.sources.download_name)
    scores: dict | None = None  # shrink first: psnr_y, ssim_y against the original
    level: float | None = None  # the clean-up level told (auto: the one estimated)

    def __post_init__(self) -> None:
        self._preview: bytes | None = None
        self._encoding = threading.Lock()

    def preview(self) -> bytes:
        """The 8-bit PNG the page shows (srcore.app.sources.preview_png), encoded once."""
        with self._encoding:
            if self._preview is None:
                self._preview = preview_png(self.picture)
            return self._preview

    @property
    def nbytes(self) -> int:
        alpha = 0 if self.picture.alpha is None else self.picture.alpha.nbytes
        return self.picture.rgb.nbytes + alpha + len(self._preview or b"")

    def describe(self, cached: bool) -> dict:
        h, w = self.picture.rgb.shape[:2]
        return {
            "id": self.id,
            "label": self.label,
            "width": int(w),
            "height": int(h),
            "seconds": round(self.seconds, 3),
            "scores": self.scores,
            "level": self.level,
            "cached": cached,
        }


@dataclass
class Job:
    """A request being worked: its state for the page (version counts changes, for long polls)."""

    id: str
    request: Request
    state: str = "running"  # running, done, failed, cancelled
    stage: str = ""
    fraction: float = 0.0
    error: str | None = None
    sides: dict | None = None  # {"left": Result.describe(), "right": ...}
    seconds: float = 0.0
    version: int = 0

    def __post_init__(self) -> None:
        self.changed = threading.Condition()
        self.cancel = threading.Event()

    def update(self, **changes) -> None:
        with self.changed:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1
            self.changed.notify_all()

    def status(self, after: int = -1, wait: float = 0.0) -> dict:
        """The job as the page sees it, waiting up to `wait` s for a version newer than `after`."""
        with self.changed:
            self.changed.wait_for(lambda: self.version > after, timeout=wait)
            fields = ("id", "state", "stage", "fraction", "error", "sides", "seconds", "version")
            return {k: getattr(self, k) for k in fields}

    def report(self, side: str, part: int, parts: int) -> Report:
        """The sampling loop's progress callback for side `side`, part `part` of `parts`."""

        def told(done: int, total: int) -> None:
            if self.cancel.is_set():
                raise Cancelled
            self.update(
                stage=f"{side}: tile {done} of {total}", fraction=(part + done / total) / parts
            )

        return told


def input_key(r: Request) -> tuple:
    """What the picture the models enlarge depends on: the image; in shrink-first mode also the
    scale, the degradation and (for `real`, drawn at random) the seed."""
    if r.mode == "upscale":
        return (r.source, r.mode)
    return (r.source, r.mode, r.degradation, r.scale, r.seed if r.degradation == "real" else None)


class Worker:
    """Runs jobs in threads over one catalogue and one set of images, keeping results."""

    def __init__(self, catalogue: Catalogue, sources: Sources) -> None:
        self.catalogue, self.sources = catalogue, sources
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._results: OrderedDict[tuple, Result] = OrderedDict()
        self._by_id: dict[str, Result] = {}
        self._lock = threading.Lock()

    def start(self, request: Request) -> Job:
        """Start working `request` in a thread; the Job reports its progress."""
        self.sources.get(request.source)  # an unknown image is refused now, not in the thread
        job = Job(secrets.token_hex(8), request)
        with self._lock:
            self._jobs[job.id] = job
            done = [k for k, j in self._jobs.items() if j.state != "running"]
            for k in done[: max(0, len(self._jobs) - JOBS_KEPT)]:  # the oldest finished ones
                del self._jobs[k]
        threading.Thread(target=self._work, args=(job,), name=f"job-{job.id}", daemon=True).start()
        return job

    def job(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UserError(f"job {job_id!r}: no such job")
        return job

    def result(self, result_id: str) -> Result:
        with self._lock:
            result = self._by_id.get(result_id)
        if result is None:
            raise UserError(f"result {result_id!r}: no longer kept: run again")
        return result

    def _work(self, job: Job) -> None:
        t0 = time.perf_counter()
        try:
            sides = self.run(job)
        except Cancelled:
            job.update(state="cancelled", stage="cancelled", seconds=time.perf_counter() - t0)
            return
        except Exception as e:  # a user's mistake or a failure: one line in the page, app serves
            message = one_line(e) if isinstance(e, UserError) else f"failed: {one_line(e)}"
            job.update(state="failed", error=message, seconds=time.perf_counter() - t0)
            return
        job.update(state="done", sides=sides, fraction=1.0, seconds=time.perf_counter() - t0)

    def run(self, job: Job) -> dict:
        """Both sides of `job`, each computed or taken from the kept results."""
        r = job.request
        source = self.sources.get(r.source)
        scale = r.scale if r.scale is not None else self.catalogue.card(r.model)["scale"]
        r = Request(**{**asdict(r), "scale": scale})
        lr, hr = self._input(source, r)
        models = [name for name in (r.compare, r.model) if name not in (BICUBIC, ORIGINAL)]
        shown = [("left", r.compare), ("right", r.model)]
        if r.mode == "shrink" and r.compare != BICUBIC:  # bicubic's scores beside the others
            shown.append(("bicubic", BICUBIC))
        sides = {}
        for side, name in shown:
            if job.cancel.is_set():
                raise Cancelled
            key = (input_key(r), scale, name, self._made_with(name, r))
            result, cached = self._kept(key)
            if result is None:
                part = models.index(name) if name in models else 0
                report = job.report("A" if side == "right" else "B", part, max(len(models), 1))
                result = self._side(name, (lr, hr), source.name, r, report)
                self._keep(key, result)
            sides[side] = result.describe(cached)
        return sides

    def _input(self, source: Source, r: Request) -> tuple[Picture, Picture | None]:
        """(the picture the models enlarge, the original it is scored against or None)."""
        if r.mode == "upscale":
            return source.picture, None
        try:
            hr, lr = lr_named(
                eight_bits(source.picture),
                r.scale,
                r.degradation,
                RealConfig(),
                source.name,
                r.seed,
            )
        except ValueError as e:  # an image smaller than the scale
            raise UserError(f"{source.name}: {e}") from None
        return Picture(lr, None, source.picture.grey), Picture(hr, None, source.picture.grey)

    def _made_with(self, name: str, r: Request) -> tuple:
        """What a side's pixels depend on beyond its input and scale: nothing for bicubic and the
        original, the model's sampling options otherwise."""
        if name in (BICUBIC, ORIGINAL):
            return ()
        return tuple(sorted(r.options(self.catalogue.card(name)).items()))

    def _side(
        self,
        name: str,
        pair: tuple[Picture, Picture | None],
        source: str,
        r: Request,
        report: Report,
    ) -> Result:
        """One side of (the input, the original) of image `source`: bicubic, the original or a
        model's result, scored in shrink-first mode."""
        (lr, hr), t0 = pair, time.perf_counter()
        level = None
        if name == BICUBIC:
            picture = bicubic_picture(lr, r.scale)
        elif name == ORIGINAL:
            picture = hr
        else:
            picture, level = self._enlarge(name, lr, r, report)
        seconds = time.perf_counter() - t0
        scores = None
        if hr is not None and name != ORIGINAL:
            got = score(eight_bits(picture), hr.rgb, math.ceil(r.scale))
            scores = {k: round(got[k], 4) if math.isfinite(got[k]) else None for k in KEYS}
        filename = download_name(source, name, r.scale, picture.deep)
        return Result(secrets.token_hex(8), name, picture, seconds, filename, scores, level)

    def _enlarge(
        self, name: str, lr: Picture, r: Request, report: Report
    ) -> tuple[Picture, float | None]:
        """Model `name`'s result and the clean-up level it was told (auto: estimated once, from
        the whole image); a UserError names the model."""
        up = self.catalogue.upscaler(name)
        try:
            spec = up.defaults.updated(**r.options(self.catalogue.card(name)))
            level = up.cleanup_level(lr, spec.scale, spec.cleanup)
            if level is not None:
                spec = spec.updated(cleanup=level)
            return up.upscale_picture(lr, spec, progress=report), level
        except UserError as e:
            raise UserError(naming(name, one_line(e))) from None

    def _kept(self, key: tuple) -> tuple[Result | None, bool]:
        with self._lock:
            result = self._results.get(key)
            if result is not None:
                self._results.move_to_end(key)
            return result, result is not None

    def _keep(self, key: tuple, result: Result) -> None:
        with self._lock:
            self._results[key] = result
            self._by_id[result.id] = result
            held = sum(r.nbytes for r in self._results.values())
            while len(self._results) > 1 and (
                len(self._results) > RESULTS_KEPT or held > RESULTS_BYTES
            ):
                _, old = self._results.popitem(last=False)
                self._by_id.pop(old.id, None)
                held -= old.nbytes
