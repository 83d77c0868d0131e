"""plots: the pictures people look at, as PNG files under plots/ (DVC image plots).

compare_<image>.png  bicubic | SR | HR | error maps, whole image and a zoomed crop
chain.png            the reverse chain x_K ... x_0 on a crop
training.png         training loss and validation PSNR (also rendered by DVC from dvclive/)
gain.png             per-image PSNR-Y gain over bicubic
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from srcore.atomic import atomic_write  # noqa: E402
from srcore.cli import run  # noqa: E402
from srcore.data import load_pair  # noqa: E402
from srcore.images import read_image  # noqa: E402
from srcore.metrics import rgb_to_y  # noqa: E402
from srcore.params import load_params  # noqa: E402

PREPARED, EVAL, METRICS, LIVE, OUT = Path("data/prepared"), Path("data/eval"), Path("metrics"), Path("dvclive"), Path("plots")


def save(fig, path: Path) -> None:
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def busiest_window(hr: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left of the size x size window with the most HR gradient energy (where detail matters)."""
    y = rgb_to_y(hr)
    g = np.abs(np.diff(y, axis=0))[:, :-1] + np.abs(np.diff(y, axis=1))[:-1]
    size = min(size, *g.shape)
    c = np.pad(g.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    s = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    top, left = np.unravel_index(np.argmax(s[::4, ::4]), s[::4, ::4].shape)
    return int(top) * 4, int(left) * 4


def compare(name: str, hr, y0, sr, row: pd.Series, zoom: int) -> plt.Figure:
    top, left = busiest_window(hr, zoom)
    err = lambda a: np.abs(rgb_to_y(a) - rgb_to_y(hr))  # noqa: E731
    fig, ax = plt.subplots(2, 4, figsize=(16, 8))
    titles = [f"bicubic {row.psnr_y_bicubic:.2f} dB", f"SR {row.psnr_y:.2f} dB / {row.ssim_y:.4f}", "HR"]
    for i, (img, title) in enumerate(zip((y0, sr, hr), titles)):
        ax[0, i].imshow(img)
        ax[0, i].add_patch(plt.Rectangle((left, top), zoom, zoom, fill=False, color="yellow", lw=1.5))
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
    idx = np.unique(np.linspace(0, len(chain) - 1, min(n, len(chain))).round().astype(int))
    fig, ax = plt.subplots(1, len(idx), figsize=(2.2 * len(idx), 2.6))
    for a, k in zip(np.atleast_1d(ax), idx):
        a.imshow(chain[k], interpolation="nearest")
        a.set_title(f"x_{len(chain) - 1 - k}"), a.set_xticks([]), a.set_yticks([])
    return fig


def training_figure(live: Path) -> plt.Figure:
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.5))
    for a, key in zip(ax, ("train/loss", "val/psnr_y")):
        tsv = live / "plots" / "metrics" / f"{key}.tsv"
        if tsv.is_file():
            df = pd.read_csv(tsv, sep="\t")
            a.plot(df["step"], df[key.split("/")[1]], marker="." if len(df) < 30 else None)
        a.set_xlabel("step"), a.set_title(key)
    return fig


def main() -> None:
    p = load_params()["plots"]
    rows = pd.read_csv(METRICS / "per_image.csv")
    for row in list(rows.itertuples())[: p["examples"]]:
        hr, y0 = (np.asarray(a) for a in load_pair(PREPARED / "cache", "valid", row.image))
        sr = read_image(EVAL / "sr" / f"{Path(row.image).stem}.png")
        save(compare(row.image, hr, y0, sr, row, p["zoom"]), OUT / f"compare_{Path(row.image).stem}.png")
    save(chain_figure(np.load(EVAL / "chain.npz")["chain"]), OUT / "chain.png")
    save(training_figure(LIVE), OUT / "training.png")
    fig, ax = plt.subplots(figsize=(max(4, 0.5 * len(rows)), 3.5))
    ax.bar([Path(n).stem for n in rows.image], rows.psnr_y_gain, color=np.where(rows.psnr_y_gain >= 0, "tab:green", "tab:red"))
    ax.axhline(0, color="k", lw=0.8), ax.set_ylabel("PSNR-Y gain over bicubic (dB)"), ax.tick_params(axis="x", rotation=60)
    save(fig, OUT / "gain.png")


if __name__ == "__main__":
    run(main)
