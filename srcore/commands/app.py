"""Upscale and compare in the browser: a page served from this machine.

    srcore-app [MODEL...] [--host 127.0.0.1] [--port 7860] [--samples data/raw/valid]
               [--no-experiments] [--device auto|cpu|cuda]
    (or make app, or python -m srcore.commands.app ...)

Offers the workspace's models/model.pt, each MODEL (a model file or an ONNX graph) and the models of
the DVC experiments whose files are in the DVC cache; each is loaded on first use and kept warm.
Drop images on the page (or pick a validation image from --samples), set the scale and clean-up
level, and compare the result with bicubic or another model on a before/after slider with a
linked pixel zoom; "shrink first" scores both sides against your original.

Nothing leaves the machine: the page loads nothing from elsewhere. It listens on 127.0.0.1 only;
--host 0.0.0.0 lets every machine that can reach this one use the page: upload images, run the
models on this machine's CPU/GPU, see the validation images and the experiments' names, download
results. There is no password: do that on a network you trust.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from srcore.app.catalogue import Catalogue, startup_entries
from srcore.app.server import LOOPBACK, App, make_server
from srcore.app.sources import Sources
from srcore.common.cli import HelpFormatter, call
from srcore.common.errors import UserError
from srcore.net.device import pick_device


def parser() -> argparse.ArgumentParser:
    """The command line of srcore-app."""
    ap = argparse.ArgumentParser(
        prog="srcore-app", description=__doc__, formatter_class=HelpFormatter
    )
    ap.add_argument("models", nargs="*", type=Path, metavar="MODEL", help="model files or graphs")
    ap.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    ap.add_argument("--port", type=int, default=7860, help="the port (0: any free one)")
    ap.add_argument(
        "--samples",
        type=Path,
        default=Path("data/raw/valid"),
        help="a folder of images the page offers (the validation images)",
    )
    ap.add_argument(
        "--no-experiments", action="store_true", help="do not list the DVC experiments' models"
    )
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    return ap


def serve(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl+C); a port in use or a bad address is a UserError."""
    for path in args.models:
        if not path.is_file():
            raise UserError(f"{path}: no such model file")
    pick_device(args.device)  # cuda without CUDA stops here, in one line
    catalogue = Catalogue(startup_entries(Path.cwd(), args.models), args.device)
    if not args.no_experiments:
        catalogue.discover_experiments(Path.cwd())
    with tempfile.TemporaryDirectory(prefix="srcore-app-") as scratch:
        app = App(catalogue, Sources(Path(scratch), args.samples), Path(scratch))
        try:
            server = make_server(app, args.host, args.port)
        except OSError as e:
            raise UserError(f"--host {args.host} --port {args.port}: {e.strerror}") from None
        host, port = server.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        print(f"srcore-app: serving on http://{shown}:{port}/ (Ctrl+C to stop)", flush=True)
        if args.host not in LOOPBACK:
            print(f"srcore-app: listening on {args.host}: other machines can use this page")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("srcore-app: stopped")
        finally:
            server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse argv (default: sys.argv) and serve; returns the exit code."""
    return call(serve, parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
