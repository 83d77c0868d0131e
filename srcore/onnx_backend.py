"""srcore-upscale --backend onnx: a graph from srcore-export, run with ONNX Runtime on the CPU.

The graph takes the LR image and returns the enlarged one (srcore.export). Large images are cut
into overlapping tiles here, as srcore.tiles does for the PyTorch path: tiles start on the grid of
the network's size multiple (and of the scale, so that each tile is a whole LR crop), each is told
its origin so that it gets the encodings and the noise of the whole image, and they are blended
with srcore.tiles' raised-cosine ramps. The one difference from the PyTorch tiles: a tile's
bicubic base is made from its own LR crop, so it differs from the whole image's within two LR
pixels of an inner edge, inside the blended overlap. A non-integer scale puts no LR pixel edge on
a common grid: such images run whole.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .cli import one_line
from .degrade import hr_side
from .errors import UserError
from .export import FORMAT, INPUTS, INSTALL
from .tiles import ramp, tile_starts


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise UserError(f"--backend onnx needs onnxruntime: {INSTALL}") from e
    return onnxruntime


class OnnxSampler:
    """An exported graph ready to run: its scale and size multiple read from its metadata.

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
            raise UserError(f"{path}: cannot load the ONNX file ({one_line(e)[:200]})") from e
        meta = session.get_modelmeta().custom_metadata_map
        if meta.get("format") != FORMAT:
            raise UserError(f"{path}: not a graph from srcore-export (format {FORMAT!r} expected)")
        scale = float(meta["scale"])
        self.path, self.session = Path(path), session
        self.scale = int(scale) if scale.is_integer() else scale
        self.multiple = int(meta["size_multiple"])

    def run(self, lr: np.ndarray, seed: int, top: int = 0, left: int = 0) -> np.ndarray:
        """lr: h x w x 3 float32 in [0, 1] -> the graph's output, H x W x 3 float32 in [0, 1], for
        a piece whose top-left output pixel is (top, left) in its whole image."""
        feed = (
            np.ascontiguousarray(lr.transpose(2, 0, 1)[None], dtype=np.float32),
            np.array([seed], dtype=np.int64),
            np.array([[top, left]], dtype=np.int64),
        )
        try:
            out = self.session.run(None, dict(zip(INPUTS, feed)))[0]
        except Exception as e:  # e.g. out of memory for a whole image: one line for this file
            raise UserError(f"onnxruntime failed: {one_line(e)[:200]}") from e
        return out[0].transpose(1, 2, 0)

    def tile_side(self, tile: int, overlap: int) -> tuple[int, int]:
        """(tile side, start grid) in output pixels: multiples of lcm(size multiple, scale) near
        `tile`, large enough for the overlap. Integer scales only."""
        grid = math.lcm(self.multiple, int(self.scale))
        side = max(grid, tile // grid * grid)
        return (side + grid if side - overlap < grid else side), grid

    def enlarge(
        self, lr: np.ndarray, seed: int, tile: int = 0, overlap: int = 32, progress: bool = False
    ) -> np.ndarray:
        """lr: h x w x 3 float32 in [0, 1] -> round(h s) x round(w s) x 3 float32 in [0, 255],
        unrounded; in tiles of about `tile` output pixels (0: whole) blended over `overlap`."""
        h, w = lr.shape[:2]
        height, width = hr_side(h, self.scale), hr_side(w, self.scale)
        whole = tile <= 0 or (height <= tile and width <= tile)
        if whole or not float(self.scale).is_integer():
            return self.run(lr, seed) * 255.0
        s = int(self.scale)
        side, grid = self.tile_side(tile, overlap)
        acc = np.zeros((height, width, 3), np.float32)
        total = np.zeros((height, width, 1), np.float32)
        ys, xs = tile_starts(height, side, overlap, grid), tile_starts(width, side, overlap, grid)
        bar = tqdm(
            total=len(ys) * len(xs), desc="tiles", unit="tile", disable=not progress, leave=False
        )
        for top in ys:
            bottom = min(top + side, height)
            wy = ramp(bottom - top, overlap, top > 0, bottom < height)
            for left in xs:
                right = min(left + side, width)
                piece = self.run(
                    lr[top // s : bottom // s, left // s : right // s], seed, top, left
                )
                wx = ramp(right - left, overlap, left > 0, right < width)
                weight = (wy[:, None] * wx[None, :])[..., None]
                acc[top:bottom, left:right] += weight * piece
                total[top:bottom, left:right] += weight
                bar.update()
        bar.close()
        return acc / total * 255.0
