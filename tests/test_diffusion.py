import numpy as np
import pytest
import torch

from srcore.config.schema import DiffusionConfig
from srcore.diffusion.resshift import ResShift, eta_schedule


def notebook_schedule(T, eta_1, p):  # the notebook's loop, written out to compare with
    eta = np.zeros(T + 1)
    eta[1] = eta_1
    b0 = np.exp(0.5 / (T - 1) * np.log(0.999 / eta[1]))
    for t in range(2, T + 1):
        eta[t] = (np.sqrt(eta[1]) * b0 ** ((T - 1) * ((t - 1) / (T - 1)) ** p)) ** 2
    return eta[1:]


def test_schedule_is_the_notebooks():
    eta = eta_schedule(15, 0.008, 0.999, 0.3)
    assert eta[0] == pytest.approx(0.008) and eta[-1] == pytest.approx(0.999)
    assert np.all(np.diff(eta) > 0)
    assert np.allclose(eta, notebook_schedule(15, 0.008, 0.3), rtol=1e-6)


def test_q_sample_moments_on_a_large_batch():
    d = ResShift.from_config(DiffusionConfig(kappa=2.0))
    g = torch.Generator().manual_seed(0)
    N, t = 200_000, 7
    x0, y0 = torch.full((N, 1, 1, 1), 0.3), torch.full((N, 1, 1, 1), -0.5)
    xt = d.q_sample(x0, y0, torch.full((N,), t), torch.randn(N, 1, 1, 1, generator=g))
    eta = d.eta[t].item()
    assert xt.mean().item() == pytest.approx(0.3 + eta * (-0.8), abs=0.01)
    assert xt.var().item() == pytest.approx(4.0 * eta, rel=0.02)


# --- the reverse chain: with an oracle network (the true x0), every state x_k the samplers visit
# must be a draw of the forward marginal q(x_k | x0, y0), for the full and for a respaced chain ---


def _pair(n=360, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(1, 1, n, n, generator=g) * 1.6 - 0.8
    return x0, (x0 + 0.4 * torch.randn(x0.shape, generator=g)).clamp(-1, 1)


def chain_standardised(d: ResShift, sampler: str, seed: int = 0) -> list[torch.Tensor]:
    """(x_k - marginal mean) / marginal std of every visited state k = K-1 .. 1."""
    x0, y0 = _pair()
    g = torch.Generator().manual_seed(seed)
    _, chain = d.p_sample_loop(
        lambda x_t, t: x0,
        y0,
        lambda k: torch.randn(y0.shape, generator=g),
        return_chain=True,
        sampler=sampler,
    )
    K = d.num_steps
    out = []
    for k in range(K - 1, 0, -1):  # chain[0] is x_K, chain[K - k] is x_k
        mean, var = d.q_mean_variance(x0, y0, k)
        out.append((chain[K - k] - mean) / var.sqrt())
    return out


def _matches_marginals(zs: list[torch.Tensor]) -> bool:
    return all(abs(z.mean().item()) < 0.02 and abs(z.var().item() - 1) < 0.03 for z in zs)


@pytest.mark.parametrize("sampler", ["ancestral", "ddim"])
@pytest.mark.parametrize("steps", [15, 4])
def test_every_state_of_the_chain_has_the_forward_marginal(steps, sampler):
    d = ResShift.from_config(DiffusionConfig()).respace(steps)
    zs = chain_standardised(d, sampler)
    assert len(zs) == steps - 1
    assert _matches_marginals(zs), [
        (round(z.mean().item(), 3), round(z.var().item(), 3)) for z in zs
    ]


def test_the_notebooks_posterior_fails_the_chain_check(monkeypatch):
    d = ResShift.from_config(DiffusionConfig())

    def notebook_posterior(x0, x_t, t):  # an extra (alpha_t eta_{t-1} / eta_t)(y0 - x0) term
        mean, var = ResShift.q_posterior_mean_variance(d, x0, x_t, t)
        e, ep, a = d.eta[t].item(), d.eta[t - 1].item(), d.alpha[t].item()
        return mean + (a * ep / e) * (y0 - x0), var

    _, y0 = _pair()
    monkeypatch.setattr(d, "q_posterior_mean_variance", notebook_posterior)
    assert not _matches_marginals(chain_standardised(d, "ancestral"))


def test_a_ddim_step_that_forgets_the_noise_fails_the_chain_check(monkeypatch):
    d = ResShift.from_config(DiffusionConfig()).respace(4)
    monkeypatch.setattr(d, "ddim_step", lambda x0, x_t, y0, t: d.q_mean_variance(x0, y0, t - 1)[0])
    assert not _matches_marginals(chain_standardised(d, "ddim"))


def test_respacing_keeps_the_endpoints_and_tells_the_network_the_original_t():
    d = ResShift.from_config(DiffusionConfig())
    r = d.respace(4)
    assert r.num_steps == 4 and r.eta[-1] == d.eta[-1] and r.eta[1] == d.eta[1]
    assert r.timesteps.tolist() == [0, 1, 6, 10, 15]
    seen = []
    y0 = torch.zeros(1, 1, 4, 4)
    r.p_sample_loop(lambda x, t: seen.append(int(t[0])) or x, y0, lambda k: torch.randn(y0.shape))
    assert seen == [15, 10, 6, 1]
    with pytest.raises(ValueError, match="steps"):
        d.respace(0)


def test_ddim_draws_only_the_prior_and_ancestral_every_step():
    d = ResShift.from_config(DiffusionConfig()).respace(4)
    y0 = torch.zeros(1, 3, 8, 8)
    draws = []

    def noise_fn(k):
        draws.append(k)
        return torch.randn(y0.shape)

    d.p_sample_loop(lambda x, t: x * 0.5, y0, noise_fn, sampler="ddim")
    assert draws == [4]
    draws.clear()
    d.p_sample_loop(lambda x, t: x * 0.5, y0, noise_fn, sampler="ancestral")
    assert draws == [4, 3, 2, 1]
    with pytest.raises(ValueError, match="sampler"):
        d.p_sample_loop(lambda x, t: x, y0, noise_fn, sampler="euler")
