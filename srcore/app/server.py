"""srcore-app's HTTP server: the page, its script and style, and a small JSON API over the models.

Python's own threaded HTTP server, no web framework: every request is served from this machine,
the page loads nothing from anywhere else (its Content-Security-Policy says so to the browser), and
two tabs are two sets of requests. The API (JSON unless said):

    GET  /api/models                 {"models": [{name, origin}], "pending": listing experiments,
                                      "device": where they run, "max_upload": bytes per file}
    GET  /api/models/<name>          the model's controls (loads it once): catalogue.model_card
    GET  /api/samples                {"samples": [validation image names]}
    POST /api/inputs                 an image file as the body (header X-Name: its name), or
         /api/inputs?sample=<name>   a validation image -> Source.describe()
    GET  /api/inputs/<id>.png        its preview
    POST /api/jobs                   a Request as JSON -> {"job": id}
    GET  /api/jobs/<id>?after=<v>    its status, once it is newer than version v (waits <= 20 s)
    POST /api/jobs/<id>/cancel       stop it at the next tile
    GET  /api/results/<id>.png       a side's preview (8-bit PNG)
    GET  /api/results/<id>/file      a side as srcore-upscale writes it (16 bits and alpha kept)

A user's mistake (a file that is not an image, a model file that is not a model, a scale the model
does not take) is answered {"error": one line} with status 200: the page shows the line, and a
browser would log any 4xx answer as a console error although nothing failed. Status 404 is for an
address the API lacks, 403 for a request that names another host, 500 for a fault of the app's
own; after each the server goes on serving.
"""

from __future__ import annotations

import json
import mimetypes
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from srcore.app.catalogue import Catalogue
from srcore.app.jobs import Worker
from srcore.app.request import Request
from srcore.app.sources import MAX_UPLOAD, Sources, encode_file, preview_png
from srcore.common.cli import one_line
from srcore.common.errors import UserError

STATIC = {  # the page's four files (srcore/app/static)
    "/": ("index.html", "text/html"),
    "/app.js": ("app.js", "text/javascript"),
    "/view.js": ("view.js", "text/javascript"),
    "/app.css": ("app.css", "text/css"),
}
POLL_SECONDS = 20.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class App:
    """What the handlers share: the models, the images, the jobs, the scratch folder."""

    def __init__(self, catalogue: Catalogue, sources: Sources, scratch: Path) -> None:
        self.catalogue, self.sources, self.scratch = catalogue, sources, scratch
        self.worker = Worker(catalogue, sources)
        self.files: dict[str, bytes] = {}  # downloads already encoded, by result id
        self.files_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    """One request; routes below. Class attributes `app` and `loopback` are set by serve()."""

    app: App
    loopback: bool
    server_version = "srcore-app"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # quiet: the page shows what happens
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        self._unread = self._length()
        try:
            self._check_caller(method)
            if method == "GET" and url.path in STATIC:
                return self._static(*STATIC[url.path])
            for pattern, verb, handler, keys in ROUTES:
                match = re.fullmatch(pattern, url.path)
                if match and verb == method:
                    query = _query(url.query, keys)
                    return handler(self, *map(unquote, match.groups()), **query)
            self._json({"error": f"{method} {url.path}: no such page"}, HTTPStatus.NOT_FOUND)
        except UserError as e:
            self._json({"error": one_line(e)})
        except Refused as e:
            self._json({"error": str(e)}, HTTPStatus.FORBIDDEN)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the tab went away
        except Exception as e:  # a bug, not the user's: one line in the page and on stderr
            print(f"srcore-app: {method} {url.path}: {one_line(e)}", file=sys.stderr)
            self._json({"error": f"failed: {one_line(e)}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _check_caller(self, method: str) -> None:
        """Refuse what a web page elsewhere could send: on a loopback address a request naming
        another host (DNS rebinding), and a POST that the browser marks as from another site."""
        if self.loopback:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if host not in LOOPBACK:
                raise Refused("this app answers to its own address only")
        if method == "POST" and self.headers.get("Sec-Fetch-Site") == "cross-site":
            raise Refused("this app takes work from its own page only")

    def _length(self) -> int:
        """The request body's declared length (0 when absent or not a number >= 0)."""
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return 0

    # -- answers --
    def _send(self, body: bytes, kind: str, status: int = 200, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self._unread:  # a body this answer did not read would be taken for the next request
            self.send_header("Connection", "close")
            self.close_connection = True
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: object, status: int = 200) -> None:
        self._send(json.dumps(value).encode(), "application/json", status)

    def _static(self, name: str, kind: str) -> None:
        body = (resources.files("srcore.app") / "static" / name).read_bytes()
        self._send(body, f"{kind}; charset=utf-8", headers={"Content-Security-Policy": PAGE_POLICY})

    def _body(self, limit: int, name: str = "the request") -> bytes:
        """The request's body, at most `limit` bytes (more: a UserError naming `name`)."""
        length = self._unread
        if length > limit:  # not read: the answer closes the connection
            raise UserError(f"{name}: {length} bytes, allowed up to {limit // 2**20} MiB")
        self._unread = 0
        return self.rfile.read(length)

    # -- routes --
    def models(self) -> None:
        catalogue = self.app.catalogue
        listing, pending, device = catalogue.listing(), catalogue.pending, catalogue.where()
        self._json(
            {"models": listing, "pending": pending, "device": device, "max_upload": MAX_UPLOAD}
        )

    def model(self, name: str) -> None:
        self._json(self.app.catalogue.card(name))

    def samples(self) -> None:
        self._json({"samples": self.app.sources.sample_names()})

    def add_input(self, sample: str | None = None) -> None:
        sources = self.app.sources
        if sample is not None:
            return self._json(sources.add_sample(sample).describe())
        name = unquote(self.headers.get("X-Name") or "image")
        self._json(sources.add_upload(name, self._body(MAX_UPLOAD, name)).describe())

    def input_preview(self, source_id: str) -> None:
        self._send(preview_png(self.app.sources.get(source_id).picture), "image/png")

    def start_job(self) -> None:
        try:
            fields = json.loads(self._body(2**20) or b"{}")
        except json.JSONDecodeError as e:
            raise UserError(f"the settings are not JSON ({e})") from None
        if not isinstance(fields, dict):
            raise UserError("the settings: allowed a JSON object")
        job = self.app.worker.start(Request.parse(fields))
        self._json({"job": job.id})

    def job_status(self, job_id: str, after: str = "-1") -> None:
        job = self.app.worker.job(job_id)
        try:
            version = int(after)
        except ValueError:
            raise UserError(f"after {after!r}: allowed an integer") from None
        self._json(job.status(version, POLL_SECONDS))

    def cancel_job(self, job_id: str) -> None:
        self.app.worker.job(job_id).cancel.set()
        self._json({"job": job_id, "cancelling": True})

    def result_preview(self, result_id: str) -> None:
        self._send(self.app.worker.result(result_id).preview(), "image/png")

    def result_file(self, result_id: str) -> None:
        result, app = self.app.worker.result(result_id), self.app
        name = result.filename
        with app.files_lock:
            body = app.files.get(result_id)
        if body is None:
            body = encode_file(result.picture, name, app.scratch)
            with app.files_lock:
                app.files = {result_id: body}  # the last download only: results are large
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        disposition = f"attachment; filename*=UTF-8''{quote(name)}"
        self._send(body, kind, headers={"Content-Disposition": disposition})


ROUTES = [  # (path, method, handler, the query keys it takes)
    (r"/api/models", "GET", Handler.models, ()),
    (r"/api/models/(.+)", "GET", Handler.model, ()),
    (r"/api/samples", "GET", Handler.samples, ()),
    (r"/api/inputs", "POST", Handler.add_input, ("sample",)),
    (r"/api/inputs/([0-9a-f]+)\.png", "GET", Handler.input_preview, ()),
    (r"/api/jobs", "POST", Handler.start_job, ()),
    (r"/api/jobs/([0-9a-f]+)", "GET", Handler.job_status, ("after",)),
    (r"/api/jobs/([0-9a-f]+)/cancel", "POST", Handler.cancel_job, ()),
    (r"/api/results/([0-9a-f]+)\.png", "GET", Handler.result_preview, ()),
    (r"/api/results/([0-9a-f]+)/file", "GET", Handler.result_file, ()),
]


class Refused(Exception):
    """A request this app does not answer (status 403)."""


def _query(text: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The query's values by key (the last of a repeated one); a UserError for a key the route
    does not take."""
    query = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    if unknown := sorted(set(query) - set(keys)):
        allowed = ", ".join(keys) or "none"
        raise UserError(f"?{unknown[0]}=: not a query of this address (allowed: {allowed})")
    return query


def make_server(app: App, host: str = "127.0.0.1", port: int = 7860) -> ThreadingHTTPServer:
    """A server for `app` bound to host:port (0: a free port), not yet serving."""
    handler = type("AppHandler", (Handler,), {"app": app, "loopback": host in LOOPBACK})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
