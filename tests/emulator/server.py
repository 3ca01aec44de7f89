# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""App factory, in-process EmulatorServer and command line entry point.

Adding a platform = one new module exposing a ``PLATFORM`` (see state.Platform) and one
entry in ``PLATFORMS`` below.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

from flask import Flask, Response, g, request
from werkzeug.serving import BaseWSGIServer, make_server

from . import control, enos, magewell, tuya, tuya_iotcore
from .handler import EmulatorRequestHandler, ServerExtras, server_extras
from .faults import (
    AFTER_KINDS,
    GARBLE_TRUNCATED,
    KIND_DROP,
    KIND_DROP_AFTER,
    KIND_ERROR,
    KIND_EXPIRE_SESSIONS,
    KIND_GARBLE_AFTER,
    KIND_LATE,
    KIND_RATE_LIMIT,
    KIND_SLOW,
)
from .state import EXTENSION_KEY, Config, EmulatorState, Platform, get_state
from .wire import DROP_KEY, drop_connection

# One entry per platform module (tuya, enos, tuya_iotcore will be appended here).
PLATFORMS: list[Platform] = [magewell.PLATFORM, enos.PLATFORM, tuya.PLATFORM, tuya_iotcore.PLATFORM]

GARBLED_HTML = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
                b"<body><h1>Bad Gateway</h1><p>The upstream answer could not be read.</p></body></html>\n")
BANNER = "fleetota emulator listening on {url}"


# -- Flask application -----------------------------------------------------------------
def create_app(state: EmulatorState) -> Flask:
    """The Flask application serving the control API and every platform's API."""
    app = Flask("fleetota_emulator")
    app.extensions[EXTENSION_KEY] = state
    app.register_blueprint(control.blueprint)
    for platform in state.platforms.values():
        app.register_blueprint(platform.blueprint)
    app.before_request(_before_request)
    app.after_request(_after_request)
    return app


def _is_control(path: str) -> bool:
    return path == control.PREFIX or path.startswith(control.PREFIX + "/")


def _before_request() -> Response | None:
    """Count every vendor-API request and apply the fault rules."""
    path = request.path
    if _is_control(path):
        return None
    state = get_state()
    query = request.query_string.decode("latin-1")
    entry = state.stats.record(request.method, path, query, state.wall_clock(), action=request.args.get("Action"))
    g.fleetota_entry = entry
    rule = state.faults.take(request.method, path, query)
    if rule is None:
        return None
    entry["fault"] = rule.kind
    if rule.kind in AFTER_KINDS:
        g.fleetota_after_fault = rule    # applied to the answer, once the request was processed
        return None
    if rule.kind in (KIND_SLOW, KIND_LATE):
        time.sleep(rule.seconds)    # then processed: a client that gave up meanwhile never learns it was applied
        return None
    if rule.kind == KIND_EXPIRE_SESSIONS:
        state.sessions.expire_all()
        return None
    if rule.kind == KIND_ERROR:
        return Response(f"injected fault: HTTP {rule.status}\n", status=rule.status, mimetype="text/plain")
    if rule.kind == KIND_RATE_LIMIT:
        response = Response("injected fault: too many requests\n", status=429, mimetype="text/plain")
        response.headers["Retry-After"] = rule.retry_after_header
        return response
    if rule.kind == KIND_DROP:
        drop_connection()
        return Response(b"", status=500)
    return None


def _after_request(response: Response) -> Response:
    rule = g.get("fleetota_after_fault")
    if rule is not None and rule.kind == KIND_DROP_AFTER:
        drop_connection()
    elif rule is not None and rule.kind == KIND_GARBLE_AFTER:
        response = _garbled(response, rule.body)
    entry = g.get("fleetota_entry")
    if entry is not None:
        entry["status"] = 0 if request.environ.get(DROP_KEY) else response.status_code
    return response


def _garbled(response: Response, kind: str) -> Response:
    """HTTP 200 with a body that is not JSON: an HTML error page, or the first half of the real answer."""
    if kind == GARBLE_TRUNCATED:
        real = response.get_data()
        return Response(real[: max(1, len(real) // 2)], status=200, content_type=response.content_type or "application/json")
    return Response(GARBLED_HTML, status=200, content_type="text/html; charset=utf-8")


# -- in-process server -----------------------------------------------------------------
def _platform_options(platforms: list[Platform], given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    remaining = dict(given)
    for platform in platforms:
        values = options.setdefault(platform.name, {})
        for option, (default, _help) in platform.options.items():
            values[option] = remaining.pop(f"{platform.name}_{option}", default)
    if remaining:
        raise TypeError(f"unknown EmulatorServer options: {sorted(remaining)}")
    return options


class EmulatorServer:
    """The emulator served by werkzeug's threaded server on a background thread.

    >>> with EmulatorServer(devices=50, upgrade_seconds=1.0) as emu:
    ...     requests.get(emu.url + "/_emulator/health")
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, devices: int = 200, seed: int = 1,
                 upgrade_seconds: float = 3.0, session_ttl: float = 900.0, offline_ratio: float = 0.05,
                 clock: Callable[[], float] = time.time, verbose: bool = False, quiet: bool = False,
                 **options: Any) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self.quiet = quiet
        config = Config(devices=devices, seed=seed, upgrade_seconds=float(upgrade_seconds),
                        session_ttl=float(session_ttl), offline_ratio=float(offline_ratio))
        self.state = EmulatorState(PLATFORMS, config, _platform_options(PLATFORMS, options), clock)
        self.state.shutdown_hook = self._stop_soon
        self.app = create_app(self.state)
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:40123."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        """Bind and serve on a background thread; returns self."""
        with self._lock:
            if self._server is not None:
                return self
            try:
                server = make_server(self.host, self.port, self.app, threaded=True, request_handler=EmulatorRequestHandler)
            except SystemExit as exc:  # werkzeug exits when it cannot bind
                raise OSError(f"cannot listen on {self.host}:{self.port}") from exc
            server.fleetota_extras = ServerExtras(verbose=self.verbose, quiet=self.quiet)
            self.port = server.port
            self._server = server
            self._stopped.clear()
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                            name=f"fleetota-emulator-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
            server_extras(server).close_all()
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
        self._stopped.set()

    def _stop_soon(self) -> None:
        """Stop after the current answer went out (used by /_emulator/shutdown)."""
        timer = threading.Timer(0.2, self.stop)
        timer.daemon = True
        timer.start()

    @property
    def stopped(self) -> bool:
        """True once stop() ran."""
        return self._stopped.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the server is stopped; True if it is."""
        return self._stopped.wait(timeout)

    def banner(self) -> list[str]:
        """The start-up lines (never passwords)."""
        return [BANNER.format(url=self.url)] + [platform.banner(self.state) for platform in self.state.platforms.values()]

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


# -- command line ----------------------------------------------------------------------
def _env_default(platform: str, option: str, default: Any) -> Any:
    return os.environ.get(f"FLEETOTA_EMULATOR_{platform}_{option}".upper(), default)


def build_parser() -> argparse.ArgumentParser:
    """The command line parser (platform options are generated from PLATFORMS)."""
    parser = argparse.ArgumentParser(prog="python tests/emulator", description="Local stateful emulator of vendor firmware clouds.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to bind, 0 = a free port (default: %(default)s)")
    parser.add_argument("--devices", type=int, default=200, help="devices per platform (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="fleet seed (default: %(default)s)")
    parser.add_argument("--upgrade-seconds", type=float, default=3.0, help="duration of one upgrade (default: %(default)s)")
    parser.add_argument("--session-ttl", type=float, default=900.0, help="idle seconds before a session expires (default: %(default)s)")
    parser.add_argument("--offline-ratio", type=float, default=0.05, help="share of devices seeded offline (default: %(default)s)")
    for platform in PLATFORMS:
        for option, (default, text) in platform.options.items():
            parser.add_argument(f"--{platform.name}-{option}".replace("_", "-"), dest=f"{platform.name}_{option}",
                                default=_env_default(platform.name, option, default),
                                help=f"{text} (env FLEETOTA_EMULATOR_{platform.name.upper()}_{option.upper()})")
    parser.add_argument("--port-file", help="write the base URL to this file (atomically) once listening")
    parser.add_argument("--lifetime", type=float, help="stop after this many seconds")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="no per-request log and no error log")
    verbosity.add_argument("--verbose", action="store_true", help="log every request (slow under load)")
    return parser


def _write_port_file(path: str, url: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(url + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: serve until --lifetime, SIGTERM/SIGINT or /_emulator/shutdown."""
    args = build_parser().parse_args(argv)
    options = {f"{platform.name}_{option}": getattr(args, f"{platform.name}_{option}")
               for platform in PLATFORMS for option in platform.options}
    server = EmulatorServer(host=args.host, port=args.port, devices=args.devices, seed=args.seed,
                            upgrade_seconds=args.upgrade_seconds, session_ttl=args.session_ttl,
                            offline_ratio=args.offline_ratio, verbose=args.verbose, quiet=args.quiet, **options)
    requested = threading.Event()

    def _on_signal(_signum: int, _frame: Any) -> None:
        requested.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server.start()
    sys.stdout.write("\n".join(server.banner()) + "\n")
    sys.stdout.flush()
    if args.port_file:
        _write_port_file(args.port_file, server.url)
    deadline = None if args.lifetime is None else time.monotonic() + args.lifetime
    try:
        while not requested.is_set() and not server.stopped:
            remaining = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if remaining <= 0:
                break
            requested.wait(remaining)
    finally:
        server.stop()
        if args.port_file:
            try:
                os.remove(args.port_file)
            except OSError:
                pass
    return 0
