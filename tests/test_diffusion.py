import numpy as np
import pytest
import torch

from srcore.diffusion import DiffusionConfig, ResShift, eta_schedule


def seed_schedule(T, eta_1, p):  # the seed notebook's loop, written out to compare with
    eta = np.zeros(T + 1)
    eta[1] = eta_1
    b0 = np.exp(0.5 / (T - 1) * np.log(0.999 / eta[1]))
    for t in range(2, T + 1):
        eta[t] = (np.sqrt(eta[1]) * b0 ** ((T - 1) * ((t - 1) / (T - 1)) ** p)) ** 2
    return eta[1:]


def test_schedule_matches_definition():
    eta = eta_schedule(15, 0.008, 0.999, 0.3)
    assert eta[0] == pytest.approx(0.008) and eta[-1] == pytest.approx(0.999)
    assert np.all(np.diff(eta) > 0)
    assert np.allclose(eta, seed_schedule(15, 0.008, 0.3), rtol=1e-6)
    d = ResShift.from_config(DiffusionConfig(steps=15))
    assert d.num_steps == 15 and torch.allclose(d.alpha[1:], d.eta[1:] - d.eta[:-1])


def test_q_sample_moments_on_a_large_batch():
    d = ResShift.from_config(DiffusionConfig(kappa=2.0))
    g = torch.Generator().manual_seed(0)
    N, t = 200_000, 7
    x0, y0 = torch.full((N, 1, 1, 1), 0.3), torch.full((N, 1, 1, 1), -0.5)
    xt = d.q_sample(x0, y0, torch.full((N,), t), torch.randn(N, 1, 1, 1, generator=g))
    eta = d.eta[t].item()
    assert xt.mean().item() == pytest.approx(0.3 + eta * (-0.8), abs=0.01)
    assert xt.var().item() == pytest.approx(4.0 * eta, rel=0.02)


def _posterior_step_moments(d, t, mean_fn, N=400_000):
    """x_t ~ q(x_t|x0); x_{t-1} ~ N(mean_fn, posterior var). Returns empirical mean and var of x_{t-1}."""
    g = torch.Generator().manual_seed(t)
    x0, y0 = torch.full((N, 1, 1, 1), 0.6), torch.full((N, 1, 1, 1), -0.6)
    xt = d.q_sample(x0, y0, t, torch.randn(N, 1, 1, 1, generator=g))
    _, var = d.q_posterior_mean_variance(x0, xt, t)
    x_prev = mean_fn(x0, y0, xt, t) + var.sqrt() * torch.randn(N, 1, 1, 1, generator=g)
    return x_prev.mean().item(), x_prev.var().item()


def _matches_q(d, t, mean_fn):
    m, v = _posterior_step_moments(d, t, mean_fn)
    e = d.eta[t - 1].item()
    return abs(m - (0.6 + e * (-1.2))) < 0.01 and abs(v - d.kappa**2 * e) < 0.02 * d.kappa**2 * e + 1e-4


@pytest.mark.parametrize("t", [2, 8, 15])
def test_posterior_is_consistent_with_the_marginals(t):
    d = ResShift.from_config(DiffusionConfig())
    assert _matches_q(d, t, lambda x0, y0, xt, t: d.q_posterior_mean_variance(x0, xt, t)[0])


def test_the_seeds_reverse_mean_fails_the_same_check():
    d = ResShift.from_config(DiffusionConfig())

    def seed_mean(x0, y0, xt, t):  # the notebook: an extra (alpha_t eta_{t-1}/eta_t)(y0 - x0) term
        e, ep, a = d.eta[t].item(), d.eta[t - 1].item(), d.alpha[t].item()
        return (ep / e) * xt + (a / e) * (1 - ep) * x0 + (a * ep / e) * y0

    assert not _matches_q(d, 8, seed_mean)


@pytest.mark.parametrize("sampler", ["ancestral", "ddim"])
@pytest.mark.parametrize("steps", [15, 4, 1])
def test_oracle_network_lands_on_x0(steps, sampler):
    d = ResShift.from_config(DiffusionConfig()).respace(steps)
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    y0 = (x0 + 0.3 * torch.randn(2, 3, 8, 8, generator=g)).clamp(-1, 1)
    seen = []

    def oracle(x_t, t):
        seen.append(int(t[0]))
        return x0

    out, chain = d.p_sample_loop(oracle, y0, lambda k: torch.randn(y0.shape, generator=g), return_chain=True, sampler=sampler)
    assert torch.allclose(out, x0, atol=1e-5)
    assert len(chain) == steps + 1 and seen[0] == 15 and len(seen) == steps
    assert seen == sorted(seen, reverse=True)


def test_ddim_step_keeps_the_marginal_of_an_exact_x0():
    # fed the true x0, a DDIM step maps a draw of q(x_t | x0, y0) onto a draw of q(x_{t-1} | x0, y0)
    d = ResShift.from_config(DiffusionConfig())
    x0, y0 = torch.full((20000, 1, 1, 1), 0.3), torch.full((20000, 1, 1, 1), -0.2)
    x_t = d.q_sample(x0, y0, torch.full((20000,), 9), torch.randn(20000, 1, 1, 1, generator=torch.Generator().manual_seed(0)))
    prev = d.ddim_step(x0, x_t, y0, 9)
    mean, var = d.q_mean_variance(x0, y0, torch.full((20000,), 8))
    assert torch.allclose(prev.mean(), mean.mean(), atol=3 * var.sqrt().mean().item() / 141)
    assert abs(prev.var().item() / var.mean().item() - 1) < 0.05


def test_respacing_keeps_endpoints():
    d = ResShift.from_config(DiffusionConfig())
    r = d.respace(4)
    assert r.num_steps == 4 and r.eta[-1] == d.eta[-1] and r.timesteps.tolist() == [0, 1, 6, 10, 15]
    assert torch.allclose(r.alpha[1:].sum(), r.eta[-1])
    with pytest.raises(ValueError, match="steps"):
        d.respace(0)
