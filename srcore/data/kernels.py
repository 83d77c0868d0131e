"""Blur kernels of the real-world degradation: the family Real-ESRGAN draws from.

Each kernel is a size x size float64 array (size odd) that sums to 1, centred on the middle pixel.
With x the offset from the centre and Sigma = R(theta) diag(sx^2, sy^2) R(theta)^T:

    gaussian               exp(-q / 2),          q = x^T Sigma^-1 x
    generalized_gaussian   exp(-q^beta / 2)      (beta < 1: heavier tails, beta > 1: flatter top)
    plateau                1 / (1 + q^beta)
    sinc                   the circular low-pass of cutoff omega (ringing and overshoot)

`draw_kernel` draws one with Real-ESRGAN's kind probabilities and ranges (its published values,
which tests/test_kernels.py checks by statistical tests); `random_kernel` makes it. numpy and
scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import j1

KINDS = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
KIND_CHANCES = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
SIZES = np.arange(7, 22, 2)  # odd sides 7..21
BETA_GENERALIZED = (0.5, 4.0)
BETA_PLATEAU = (1.0, 2.0)


def _offsets(size: int) -> tuple[np.ndarray, np.ndarray]:
    r = (size - 1) / 2
    return np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1))  # x (columns), y (rows)


def _quadratic(size: int, sx: float, sy: float, theta: float) -> np.ndarray:
    """q = x^T Sigma^-1 x on the size x size grid."""
    c, s = np.cos(theta), np.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    inv = np.linalg.inv(rot @ np.diag([sx**2, sy**2]) @ rot.T)
    x, y = _offsets(size)
    return inv[0, 0] * x**2 + 2 * inv[0, 1] * x * y + inv[1, 1] * y**2


def _normalised(k: np.ndarray) -> np.ndarray:
    return k / k.sum()


def gaussian(size: int, sx: float, sy: float | None = None, theta: float = 0.0) -> np.ndarray:
    """Isotropic (sy=None) or anisotropic Gaussian kernel; sigmas in pixels, theta in radians."""
    return _normalised(np.exp(-0.5 * _quadratic(size, sx, sx if sy is None else sy, theta)))


def generalized_gaussian(size: int, sx: float, sy: float, theta: float, beta: float) -> np.ndarray:
    """exp(-q^beta / 2): beta = 1 is the Gaussian."""
    return _normalised(np.exp(-0.5 * _quadratic(size, sx, sy, theta) ** beta))


def plateau(size: int, sx: float, sy: float, theta: float, beta: float) -> np.ndarray:
    """1 / (1 + q^beta): a flat top and slowly decaying tails."""
    return _normalised(1 / (1 + _quadratic(size, sx, sy, theta) ** beta))


def sinc(size: int, omega: float) -> np.ndarray:
    """The circular ideal low-pass of cutoff omega (radians per pixel, in (0, pi]), truncated."""
    x, y = _offsets(size)
    r = np.hypot(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = omega * j1(omega * r) / (2 * np.pi * r)
    k[r == 0] = omega**2 / (4 * np.pi)
    return _normalised(k)


def _beta(rng: np.random.Generator, span: tuple[float, float]) -> float:
    """A shape drawn below 1 or above 1 with even odds (as Real-ESRGAN draws both shapes)."""
    lo, hi = span
    return rng.uniform(lo, 1) if rng.random() < 0.5 else rng.uniform(1, hi)


@dataclass(frozen=True)
class KernelDraw:
    """What one draw chose: the kind ("sinc" or one of KINDS), the odd side, the sigmas (pixels),
    the angle (radians), the shape beta (generalized and plateau kinds) and the sinc's cutoff."""

    kind: str
    size: int
    sx: float = 0.0
    sy: float = 0.0
    theta: float = 0.0
    beta: float = 1.0
    omega: float = 0.0

    def kernel(self) -> np.ndarray:
        """The size x size kernel, summing to 1."""
        if self.kind == "sinc":
            return sinc(self.size, self.omega)
        if self.kind.startswith("generalized"):
            return generalized_gaussian(self.size, self.sx, self.sy, self.theta, self.beta)
        if self.kind.startswith("plateau"):
            return plateau(self.size, self.sx, self.sy, self.theta, self.beta)
        return gaussian(self.size, self.sx, self.sy, self.theta)


def draw_kernel(
    rng: np.random.Generator, sigma: tuple[float, float], sinc_prob: float
) -> KernelDraw:
    """One draw of Real-ESRGAN's blur family: a side in SIZES; a sinc with probability sinc_prob
    (cutoff uniform in pi/3..pi, pi/5..pi for sides >= 13); else a kind by KIND_CHANCES, sigmas
    uniform in `sigma` (one for the iso kinds, two and an angle in -pi..pi for the aniso ones) and,
    for generalized and plateau kinds, a shape beta below or above 1 with even odds."""
    size = int(rng.choice(SIZES))
    if rng.random() < sinc_prob:  # a ringing filter, wider cutoffs for larger kernels
        return KernelDraw(
            "sinc", size, omega=rng.uniform(np.pi / 5 if size >= 13 else np.pi / 3, np.pi)
        )
    kind = KINDS[rng.choice(len(KINDS), p=KIND_CHANCES)]
    sx = rng.uniform(*sigma)
    sy, theta = (rng.uniform(*sigma), rng.uniform(-np.pi, np.pi)) if "aniso" in kind else (sx, 0.0)
    beta = 1.0
    if kind.startswith("generalized"):
        beta = _beta(rng, BETA_GENERALIZED)
    elif kind.startswith("plateau"):
        beta = _beta(rng, BETA_PLATEAU)
    return KernelDraw(kind, size, sx, sy, theta, beta)


def random_kernel(
    rng: np.random.Generator, sigma: tuple[float, float], sinc_prob: float
) -> np.ndarray:
    """The kernel of one draw_kernel draw: odd side 7..21, summing to 1."""
    return draw_kernel(rng, sigma, sinc_prob).kernel()
