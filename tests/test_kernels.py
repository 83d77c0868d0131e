"""The blur kernels of the real-world degradation, checked by what they do to an impulse."""

import numpy as np
import pytest

from srcore.data import kernels


def _moments(k: np.ndarray) -> tuple[float, float, float]:
    """Spatial variance along x, along y, and the x-y covariance of a kernel (an impulse's blur)."""
    r = (k.shape[0] - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return float((k * x**2).sum()), float((k * y**2).sum()), float((k * x * y).sum())


ALL = [
    kernels.gaussian(21, 2.0),
    kernels.gaussian(15, 2.5, 0.8, 0.6),
    kernels.generalized_gaussian(21, 1.5, 2.5, -1.0, 0.6),
    kernels.generalized_gaussian(21, 1.5, 2.5, 1.0, 3.0),
    kernels.plateau(21, 1.0, 2.0, 0.3, 1.5),
    kernels.sinc(21, np.pi / 3),
]


@pytest.mark.parametrize("k", ALL, ids=range(len(ALL)))
def test_every_kernel_sums_to_one_and_is_centred(k):
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(k, k[::-1, ::-1])  # point-symmetric: blurring does not shift the image


def test_a_gaussian_spreads_an_impulse_by_its_sigma():
    spreads = [_moments(kernels.gaussian(21, s))[0] for s in (1.0, 1.5, 2.0)]
    assert spreads == pytest.approx([1.0, 2.25, 4.0], rel=0.02)


def test_an_anisotropic_gaussian_spreads_along_its_rotated_axes():
    vx, vy, cov = _moments(kernels.gaussian(31, 3.0, 1.0, 0.0))
    assert (vx, vy, cov) == pytest.approx((9.0, 1.0, 0.0), abs=0.1)
    vx, vy, cov = _moments(kernels.gaussian(31, 3.0, 1.0, np.pi / 2))
    assert (vx, vy) == pytest.approx((1.0, 9.0), abs=0.1)
    _, _, cov = _moments(kernels.gaussian(31, 3.0, 1.0, np.pi / 4))
    assert cov == pytest.approx((9.0 - 1.0) / 2, abs=0.1)  # the long axis on the diagonal


def test_the_shape_parameter_moves_mass_between_centre_and_tails():
    gauss = kernels.gaussian(21, 2.0)
    assert np.allclose(kernels.generalized_gaussian(21, 2.0, 2.0, 0.0, 1.0), gauss)
    heavy = kernels.generalized_gaussian(21, 2.0, 2.0, 0.0, 0.5)
    flat = kernels.generalized_gaussian(21, 2.0, 2.0, 0.0, 4.0)
    near = lambda k: k[10, 11] / k[10, 10]  # noqa: E731
    assert near(flat) > near(gauss)  # a flatter top
    assert heavy[10, 0] / heavy[10, 10] > gauss[10, 0] / gauss[10, 10]  # heavier tails
    assert kernels.plateau(21, 2.0, 2.0, 0.0, 2.0)[10, 0] > gauss[10, 0]


def test_a_sinc_passes_frequencies_below_its_cutoff_and_stops_those_above():
    omega = np.pi / 2
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(kernels.sinc(21, omega), s=(128, 128))))
    f = np.fft.fftshift(np.fft.fftfreq(128)) * 2 * np.pi
    radius = np.hypot(*np.meshgrid(f, f))
    assert spectrum[radius < 0.7 * omega].mean() > 0.9
    assert spectrum[(radius > 1.4 * omega) & (radius < np.pi)].mean() < 0.1


def test_random_kernels_are_drawn_from_the_key_with_odd_sides_of_7_to_21():
    draws = [
        kernels.random_kernel(np.random.default_rng([3, i]), (0.2, 3.0), 0.1) for i in range(60)
    ]
    again = [
        kernels.random_kernel(np.random.default_rng([3, i]), (0.2, 3.0), 0.1) for i in range(60)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(draws, again))
    assert {k.shape[0] for k in draws} <= set(range(7, 22, 2)) and len({k.shape for k in draws}) > 3
    assert all(k.sum() == pytest.approx(1.0) for k in draws)
    wide = [
        _moments(kernels.random_kernel(np.random.default_rng(i), (3, 3), 0))[0] for i in range(9)
    ]
    narrow = [
        _moments(kernels.random_kernel(np.random.default_rng(i), (0.3, 0.3), 0))[0]
        for i in range(9)
    ]
    assert min(wide) > max(narrow)  # the sigma range is what sets the spread
