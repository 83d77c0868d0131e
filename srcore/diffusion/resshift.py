"""The ResShift diffusion process (Yue et al. 2023): shifting the residual e0 = y0 - x0 with noise.

    q(x_t | x0, y0)       = N(x0 + eta_t (y0 - x0), kappa^2 eta_t I)
    q(x_{t-1} | x_t, x0)  = N((eta_{t-1}/eta_t) x_t + (alpha_t/eta_t) x0, kappa^2 (eta_{t-1}/eta_t)
    alpha_t I) alpha_t = eta_t - eta_{t-1}, eta_0 = 0

Two samplers walk the chain: "ancestral" (ResShift's: x_{t-1} drawn from the posterior, fresh
noise at every step) and "ddim" (deterministic after x_T: x_{t-1} is the marginal at t-1 with the
noise that x_t implies, the eta = 0 case of DDIM written for this forward process). Both end on
the network's x0 estimate at t = 1, since eta_0 = 0.

A plain object over the schedule; it takes the network as an argument and never the reverse.
Respacing keeps a subset of the timesteps and recomputes alpha from the kept etas, so the same
posterior formula gives a shorter chain (15 -> 4 -> 1); the network is still told the original t.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from srcore.config.schema import SAMPLERS, DiffusionConfig


def eta_schedule(steps: int, eta_1: float, eta_T: float, power: float) -> np.ndarray:
    """eta_t for t = 1..T: geometric in sqrt(eta) along ((t-1)/(T-1))^p, from eta_1 to eta_T (the
    seed's)."""
    if steps == 1:
        return np.array([eta_T], dtype=np.float64)
    u = (np.arange(steps, dtype=np.float64) / (steps - 1)) ** power
    return eta_1 * (eta_T / eta_1) ** u


class ResShift:
    """The chain over kept timesteps. Chain index k = 1..K; `timesteps[k]` is what the network
    sees."""

    def __init__(self, etas: Sequence[float], kappa: float, timesteps: Sequence[int] | None = None):
        etas = np.asarray(etas, dtype=np.float64)
        if np.any(np.diff(etas) <= 0) or etas[0] <= 0:
            raise ValueError("eta must be positive and strictly increasing")
        self.kappa = float(kappa)
        self.eta = torch.from_numpy(np.concatenate([[0.0], etas]))  # index 0..K, eta_0 = 0
        self.alpha = torch.cat([torch.zeros(1, dtype=torch.float64), self.eta[1:] - self.eta[:-1]])
        ts = np.arange(1, len(etas) + 1) if timesteps is None else np.asarray(timesteps)
        self.timesteps = torch.from_numpy(np.concatenate([[0], ts]).astype(np.int64))

    @classmethod
    def from_config(cls, cfg: DiffusionConfig) -> ResShift:
        return cls(eta_schedule(cfg.steps, cfg.eta_1, cfg.eta_T, cfg.power), cfg.kappa)

    @property
    def num_steps(self) -> int:
        return len(self.eta) - 1

    def respace(self, steps: int) -> ResShift:
        """A chain of `steps` evenly spread kept timesteps, always ending at the last one."""
        K = self.num_steps
        if not 1 <= steps <= K:
            raise ValueError(f"steps must be in 1..{K}, got {steps}")
        keep = np.unique(np.round(np.linspace(K, 1, steps)).astype(int))
        return ResShift(self.eta[keep].numpy(), self.kappa, self.timesteps[keep].numpy())

    @staticmethod
    def _at(a: torch.Tensor, t: torch.Tensor | int, x: torch.Tensor) -> torch.Tensor:
        v = a[torch.as_tensor(t).cpu()].to(device=x.device, dtype=x.dtype)
        return v.reshape(-1, *([1] * (x.dim() - 1)))

    def q_mean_variance(
        self, x0: torch.Tensor, y0: torch.Tensor, t
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Moments of q(x_t | x0, y0); t: chain index (int or B tensor)."""
        eta = self._at(self.eta, t, x0)
        return x0 + eta * (y0 - x0), self.kappa**2 * eta

    def q_sample(
        self, x0: torch.Tensor, y0: torch.Tensor, t, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Draw x_t ~ q(x_t | x0, y0) for a whole batch at once. x0, y0: B x C x H x W; t: B chain
        indices."""
        if noise is None:
            noise = torch.randn_like(x0)
        mean, var = self.q_mean_variance(x0, y0, t)
        return mean + var.sqrt() * noise

    def q_posterior_mean_variance(
        self, x0: torch.Tensor, x_t: torch.Tensor, t
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Moments of q(x_{t-1} | x_t, x0)."""
        t = torch.as_tensor(t)
        eta, eta_prev, alpha = (
            self._at(self.eta, t, x_t),
            self._at(self.eta, t - 1, x_t),
            self._at(self.alpha, t, x_t),
        )
        mean = (eta_prev / eta) * x_t + (alpha / eta) * x0
        return mean, self.kappa**2 * (eta_prev / eta) * alpha

    def ddim_step(
        self, x0: torch.Tensor, x_t: torch.Tensor, y0: torch.Tensor, t: torch.Tensor | int
    ) -> torch.Tensor:
        """Deterministic x_{t-1}: the marginal mean at t-1 plus the noise x_t implies, rescaled.
        x_{t-1} = x0 + eta_{t-1} (y0 - x0) + sqrt(eta_{t-1} / eta_t) (x_t - x0 - eta_t (y0 -
        x0))."""
        t = torch.as_tensor(t)
        eta, eta_prev = self._at(self.eta, t, x_t), self._at(self.eta, t - 1, x_t)
        return x0 + eta_prev * (y0 - x0) + (eta_prev / eta).sqrt() * (x_t - x0 - eta * (y0 - x0))

    def p_sample_loop(
        self,
        predict_x0: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        y0: torch.Tensor,
        noise_fn: Callable[[int], torch.Tensor],
        return_chain: bool = False,
        sampler: str = "ancestral",
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the reverse chain from x_K = y0 + kappa sqrt(eta_K) n to x_0.

        predict_x0(x_t, t_model) -> x0 estimate; noise_fn(k) -> standard normal like y0 for chain
        state k (K for the prior, k-1 for the step k -> k-1; "ddim" draws only the prior).
        Returns (x_0, [x_K, ..., x_0] or []).
        """
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler {sampler!r}: allowed {', '.join(SAMPLERS)}")
        K = self.num_steps
        x = y0 + self.kappa * self.eta[K].sqrt().item() * noise_fn(K)
        chain = [x] if return_chain else []
        for k in range(K, 0, -1):
            t_model = self.timesteps[k].expand(y0.shape[0]).to(y0.device)
            x0 = predict_x0(x, t_model)
            if k == 1:
                x = x0  # eta_0 = 0: both samplers end on the estimate
            elif sampler == "ddim":
                x = self.ddim_step(x0, x, y0, k)
            else:
                mean, var = self.q_posterior_mean_variance(x0, x, k)
                x = mean + var.sqrt() * noise_fn(k - 1)
            if return_chain:
                chain.append(x)
        return x, chain
