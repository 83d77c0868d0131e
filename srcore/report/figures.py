"""The pictures: comparison panels, the reverse chain, training curves, per-image gain (matplotlib,
Agg)."""

from __future__ import annotations

import os
import platform
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from srcore.common.atomic import atomic_write  # noqa: E402
from srcore.eval.metrics import rgb_to_y  # noqa: E402


def machine() -> str:
    """The machine a figure was made on, in words: '2-core x86_64 CPU, Linux'."""
    return f"{os.cpu_count()}-core {platform.machine()} CPU, {platform.system()}"


def save(fig: plt.Figure, path: str | Path) -> None:
    """Write a PNG atomically, stamped with the date and the machine, and free the figure."""
    fig.text(
        0.99, 0.005, f"srcore, {date.today().isoformat()}, {machine()}", ha="right", fontsize=7
    )
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def busiest_window(hr: np.ndarray, size: int) -> tuple[int, int]:
    """(top, left) of the size x size window of uint8 HR with the most gradient energy (where detail
    matters)."""
    y = rgb_to_y(hr)
    g = np.abs(np.diff(y, axis=0))[:, :-1] + np.abs(np.diff(y, axis=1))[:-1]
    size = min(size, *g.shape)
    c = np.pad(g.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    s = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    top, left = np.unravel_index(np.argmax(s[::4, ::4]), s[::4, ::4].shape)
    return int(top) * 4, int(left) * 4


def compare(
    name: str, hr: np.ndarray, y0: np.ndarray, sr: np.ndarray, row, zoom: int
) -> plt.Figure:
    """bicubic | SR | HR | error maps, whole image on top and the busiest zoom x zoom crop below.
    row: psnr_y, ssim_y, psnr_y_bicubic, psnr_y_gain of this image."""
    top, left = busiest_window(hr, zoom)
    err = lambda a: np.abs(rgb_to_y(a) - rgb_to_y(hr))  # noqa: E731
    fig, ax = plt.subplots(2, 4, figsize=(16, 8))
    titles = [
        f"bicubic {row.psnr_y_bicubic:.2f} dB",
        f"SR {row.psnr_y:.2f} dB / {row.ssim_y:.4f}",
        "HR",
    ]
    for i, (img, title) in enumerate(zip((y0, sr, hr), titles)):
        ax[0, i].imshow(img)
        ax[0, i].add_patch(
            plt.Rectangle((left, top), zoom, zoom, fill=False, color="yellow", lw=1.5)
        )
        ax[0, i].set_title(title)
        ax[1, i].imshow(img[top : top + zoom, left : left + zoom], interpolation="nearest")
    for r, (img, label) in enumerate(((sr, "|SR - HR| (Y)"), (y0, "|bicubic - HR| (Y)"))):
        ax[r, 3].imshow(err(img), cmap="magma", vmin=0, vmax=40)
        ax[r, 3].set_title(label)
    for a in ax.flat:
        a.set_xticks([]), a.set_yticks([])
    fig.suptitle(f"{name}: PSNR-Y gain {row.psnr_y_gain:+.2f} dB over bicubic")
    return fig


def chain_figure(chain: np.ndarray, n: int = 8) -> plt.Figure:
    """chain: uint8 (K+1) x h x w x 3, x_K first. Shows up to n evenly spaced states."""
    idx = np.unique(np.linspace(0, len(chain) - 1, min(n, len(chain))).round().astype(int))
    fig, ax = plt.subplots(1, len(idx), figsize=(2.2 * len(idx), 2.6))
    for a, k in zip(np.atleast_1d(ax), idx):
        a.imshow(chain[k], interpolation="nearest")
        a.set_title(f"x_{len(chain) - 1 - k}"), a.set_xticks([]), a.set_yticks([])
    return fig


def training_figure(series: dict[str, pd.DataFrame]) -> plt.Figure:
    """series: {name: DataFrame with columns step and the value} -> one panel each."""
    fig, ax = plt.subplots(
        1, max(1, len(series)), figsize=(5.5 * max(1, len(series)), 3.5), squeeze=False
    )
    for a, (name, df) in zip(ax[0], series.items()):
        a.plot(df["step"], df.iloc[:, 1], marker="." if len(df) < 30 else None)
        a.set_xlabel("step"), a.set_title(name)
    return fig


def gain_figure(names: list[str], gains: np.ndarray) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(max(4, 0.5 * len(names)), 3.5))
    ax.bar(names, gains, color=np.where(np.asarray(gains) >= 0, "tab:green", "tab:red"))
    (
        ax.axhline(0, color="k", lw=0.8),
        ax.set_ylabel("PSNR-Y gain over bicubic (dB)"),
        ax.tick_params(axis="x", rotation=60),
    )
    return fig
