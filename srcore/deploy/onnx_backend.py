"""srcore-upscale --backend onnx: a graph from srcore-export, run with ONNX Runtime on the CPU.

The graph takes the LR image and returns the enlarged one (srcore.deploy.export). Large images are
cut into the tiles of srcore.diffusion.tiles (the same starts, ramps and origins as the PyTorch
path). Each tile is given the LR crop that covers it plus CONTEXT pixels on every inner side, and
the tile's rows and columns inside that crop's enlargement: as Pillow's bicubic reaches 2 LR pixels
each way, the tile's bicubic base equals the whole image's, so a tile is the PyTorch tile. This
needs the LR and output pixel grids to line up every s pixels: a non-integer scale runs whole
images.

A graph of srcore-export --lr-only takes `lr` alone, its seed fixed at export (the metadata's
`seed`), origin 0 and every row and column made inside: OnnxSampler feeds it the LR image only and
runs whole images, whatever the tile (a tile needs an origin, rows and columns); another seed is
refused (refuses_seed, which srcore.deploy.upscaler.onnx_spec asks).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from srcore.common.cli import one_line
from srcore.common.errors import UserError
from srcore.config.sampling import as_scale
from srcore.data.degrade import hr_side
from srcore.diffusion.tiles import Progress, blend_tiles

FORMAT = "srcore-onnx/1"  # the metadata tag of srcore-export's graphs
INPUTS, OUTPUT = ("lr", "seed", "origin", "rows", "cols"), "sr"
LR_ONLY = ("lr",)  # the inputs of an --lr-only graph
INSTALL = "pip install 'srcore[onnx]'"
CONTEXT = 3  # LR pixels around a tile's crop: more than Pillow's bicubic reach of 2


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise UserError(f"--backend onnx needs onnxruntime: {INSTALL}") from e
    return onnxruntime


class OnnxSampler:
    """An exported graph ready to run: its scale and size multiple read from its metadata; for an
    lr-only graph (lr_only), the seed fixed in it (fixed_seed; None for a five-input graph).

    threads: ONNX Runtime's intra-op threads (None: its default, one per physical core).
    """

    def __init__(self, path: Path, threads: int | None = None):
        ort = _onnxruntime()
        if not Path(path).is_file():
            raise UserError(f"{path}: ONNX file not found (write one with srcore-export)")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: a fresh session warns about unused inputs
        if threads:
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # a truncated or foreign file: ONNX Runtime says why
            pt = (
                "; a model file from training? drop --backend onnx"
                if zipfile.is_zipfile(path)
                else ""
            )
            raise UserError(f"{path}: cannot load the ONNX file ({one_line(e)[:200]}){pt}") from e
        meta = session.get_modelmeta().custom_metadata_map
        if meta.get("format") != FORMAT:
            raise UserError(f"{path}: not a graph from srcore-export (format {FORMAT!r} expected)")
        names = tuple(i.name for i in session.get_inputs())
        if names not in (INPUTS, LR_ONLY):
            raise UserError(
                f"{path}: its inputs are not {', '.join(INPUTS)} (or lr alone): export it again"
            )
        self.lr_only = names == LR_ONLY
        try:
            scale, self.multiple = float(meta["scale"]), int(meta["size_multiple"])
            self.fixed_seed = int(meta["seed"]) if self.lr_only else None
        except (KeyError, ValueError) as e:
            raise UserError(f"{path}: srcore-export's metadata is missing or damaged ({e})") from e
        self.path, self.session = Path(path), session
        self.scale = as_scale(scale)

    def refuses_seed(self, seed: int) -> str | None:
        """Why the graph cannot run `seed`, or None: an lr-only graph runs the seed fixed in it."""
        if self.fixed_seed is None or seed == self.fixed_seed:
            return None
        fixed = self.fixed_seed
        return (
            f"seed {seed}: {self.path.name} is an lr-only graph, its seed fixed at {fixed} "
            f"(allowed: {fixed}; or export it with srcore-export --lr-only --seed {seed})"
        )

    def run(
        self,
        lr: np.ndarray,
        seed: int,
        top: int = 0,
        left: int = 0,
        rows: np.ndarray | None = None,
        cols: np.ndarray | None = None,
    ) -> np.ndarray:
        """lr: h x w x 3 float32 in [0, 1] -> the graph's output, float32 in [0, 1], for a piece
        whose top-left output pixel is (top, left) in its whole image: `rows` x `cols` of the
        enlarged lr (None: all of them). An lr-only graph: whole images at its fixed seed only (a
        UserError for another seed, a ValueError for a piece)."""
        why = self.refuses_seed(seed)
        if why:
            raise UserError(why)
        image = np.ascontiguousarray(lr.transpose(2, 0, 1)[None], dtype=np.float32)
        if self.lr_only:
            if top or left or rows is not None or cols is not None:
                raise ValueError(f"{self.path.name} takes the LR image alone: whole images only")
            feed = {"lr": image}
        else:
            h, w = lr.shape[:2]
            rows = np.arange(hr_side(h, self.scale)) if rows is None else rows
            cols = np.arange(hr_side(w, self.scale)) if cols is None else cols
            piece = ([seed], [[top, left]], rows, cols)
            feed = dict(zip(INPUTS, (image, *(np.asarray(a, dtype=np.int64) for a in piece))))
        try:
            out = self.session.run(None, feed)[0]
        except Exception as e:  # e.g. out of memory for a whole image: one line for this file
            raise UserError(f"onnxruntime failed: {one_line(e)[:200]}") from e
        return out[0].transpose(1, 2, 0)

    def enlarge(
        self,
        lr: np.ndarray,
        seed: int,
        tile: int = 0,
        overlap: int = 32,
        progress: Progress = False,
    ) -> np.ndarray:
        """lr: h x w x 3 float32 in [0, 1] -> round(h s) x round(w s) x 3 float32 in [0, 255],
        unrounded; in the tiles of srcore.diffusion.tiles (0: whole) for an integer scale. An
        lr-only graph runs whole images whatever the tile."""
        h, w = lr.shape[:2]
        height, width = hr_side(h, self.scale), hr_side(w, self.scale)
        whole = self.lr_only or tile <= 0 or (height <= tile and width <= tile)
        if whole or not float(self.scale).is_integer():
            out = self.run(lr, seed) * 255.0
            if callable(progress):
                progress(1, 1)
            return out
        s = int(self.scale)

        def piece(top: int, bottom: int, left: int, right: int) -> np.ndarray:
            r0, c0 = max(top // s - CONTEXT, 0), max(left // s - CONTEXT, 0)
            r1, c1 = min(-(-bottom // s) + CONTEXT, h), min(-(-right // s) + CONTEXT, w)
            rows, cols = np.arange(top, bottom) - r0 * s, np.arange(left, right) - c0 * s
            return self.run(lr[r0:r1, c0:c1], seed, top, left, rows, cols) * 255.0

        grid = (tile, overlap, self.multiple)
        return blend_tiles(height, width, grid, piece, np.float32, progress)
