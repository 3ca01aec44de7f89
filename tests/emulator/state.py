# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emulator-wide state shared by every platform: configuration, fleet, sessions, faults, stats."""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, Response, current_app

from .faults import FaultInjector
from .fleet import Fleet, seeded_random
from .jobs import JobBook

EXTENSION_KEY = "fleetota_emulator"
LOG_SIZE = 1000


@dataclass(frozen=True)
class Platform:
    """What a platform module registers with the server (see server.PLATFORMS).

    ``options`` maps option names to (default, help); they become CLI flags
    ``--<name>-<option>`` and EmulatorServer keyword arguments ``<name>_<option>``.
    ``seed(state, rng)`` fills the fleet; ``banner(state)`` is its start-up line;
    ``scenarios(state, now)`` returns handy facts for tests (control API, through ``facts``, which holds the
    fleet's lock and reads the clock once); ``new_store(state)``, if
    given, builds the vendor's own state (tokens, jobs, ...), anew on every reseed, found with
    ``EmulatorState.store(name)``.
    """

    name: str
    blueprint: Blueprint
    seed: Callable[[EmulatorState, Any], None]
    banner: Callable[[EmulatorState], str]
    scenarios: Callable[[EmulatorState, float], dict[str, Any]]
    options: dict[str, tuple[Any, str]] = field(default_factory=dict)
    new_store: Callable[[EmulatorState], Any] | None = None

    def facts(self, state: EmulatorState) -> dict[str, Any]:
        """The platform's scenarios, computed under the fleet's lock at one instant."""
        with state.fleet.lock:
            return self.scenarios(state, state.clock())


@dataclass
class Config:
    """Run-time configuration (the part that /_emulator/config may change)."""

    devices: int = 200
    seed: int = 1
    upgrade_seconds: float = 3.0
    session_ttl: float = 900.0
    offline_ratio: float = 0.05


@dataclass
class Session:
    """A logged-in session of one platform."""

    platform: str
    token: str
    user: str
    created: float
    last_used: float


class SessionStore:
    """Sessions of every platform; they expire session_ttl seconds after their last use."""

    def __init__(self, clock: Callable[[], float], ttl: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._ttl = ttl
        self._sessions: dict[tuple[str, str], Session] = {}

    def create(self, platform: str, token: str, user: str) -> Session:
        """Register a new session."""
        now = self._clock()
        session = Session(platform=platform, token=token, user=user, created=now, last_used=now)
        with self._lock:
            self._sessions[(platform, token)] = session
        return session

    def get(self, platform: str, token: str | None, touch: bool = True) -> Session | None:
        """A live session (its last use is updated), or None if unknown or expired."""
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get((platform, token))
            if session is None:
                return None
            if now - session.last_used > self._ttl():
                del self._sessions[(platform, token)]
                return None
            if touch:
                session.last_used = now
            return session

    def delete(self, platform: str, token: str) -> None:
        """Log a session out."""
        with self._lock:
            self._sessions.pop((platform, token), None)

    def expire_all(self, platform: str | None = None) -> int:
        """Expire every session (of one platform or of all); returns how many."""
        with self._lock:
            keys = [key for key in self._sessions if platform is None or key[0] == platform]
            for key in keys:
                del self._sessions[key]
            return len(keys)

    def count(self) -> int:
        """Number of sessions held (expired ones included until next use)."""
        with self._lock:
            return len(self._sessions)


class RequestStats:
    """Counters and a bounded log of vendor-API requests (never bodies)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.requests: dict[str, int] = {}
        self.actions: dict[str, int] = {}
        self.log: collections.deque[dict[str, Any]] = collections.deque(maxlen=LOG_SIZE)

    def record(self, method: str, path: str, query: str, when: float, action: str | None = None) -> dict[str, Any]:
        """Count a request and return its (mutable) log entry; RPC-style APIs (one path) are also counted by ``action``."""
        entry = {"method": method, "path": path, "query": query, "status": None, "time": when}
        key = f"{method} {path}"
        with self._lock:
            self.total += 1
            self.requests[key] = self.requests.get(key, 0) + 1
            if action:
                self.actions[action] = self.actions.get(action, 0) + 1
            self.log.append(entry)
        return entry

    def reset(self) -> None:
        """Zero the counters and clear the log."""
        with self._lock:
            self.total = 0
            self.requests = {}
            self.actions = {}
            self.log.clear()

    def snapshot(self) -> dict[str, Any]:
        """JSON form of the counters."""
        with self._lock:
            return {"total": self.total, "requests": dict(sorted(self.requests.items())), "actions": dict(sorted(self.actions.items()))}

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` log entries, oldest first."""
        with self._lock:
            entries = list(self.log)[-limit:] if limit > 0 else []
            return [dict(entry) for entry in entries]


class EmulatorState:
    """Everything the emulator knows; shared by the platform blueprints and the control API."""

    def __init__(self, platforms: list[Platform], config: Config, options: dict[str, dict[str, Any]],
                 clock: Callable[[], float] = time.time) -> None:
        self.platforms = {platform.name: platform for platform in platforms}
        self.initial_config = dataclasses.replace(config)
        self.config = config
        self.options = options
        # Two clocks: ``wall_clock`` (the injected one, real time by default) for what a client's own clock is
        # checked against (signature timestamps, nonces, tokens, sessions); ``clock()`` = wall_clock + the offset
        # that /_emulator/clock advances, for the fleet and the jobs (upgrades, queued tasks, timeouts, retries).
        self.wall_clock = clock
        self.clock_offset = 0.0
        self._clock_lock = threading.Lock()
        self.fleet = Fleet(self.clock)
        self.sessions = SessionStore(clock, lambda: self.config.session_ttl)
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self.shutdown_hook: Callable[[], None] | None = None
        self.stores: dict[str, Any] = {}
        self.reseed()

    def clock(self) -> float:
        """Emulated time of the devices and jobs: the wall clock plus what /_emulator/clock advanced."""
        return self.wall_clock() + self.clock_offset

    def advance(self, seconds: float) -> float:
        """Move the devices' and jobs' time forward (never back); returns the new offset."""
        with self._clock_lock:
            self.clock_offset += seconds
            return self.clock_offset

    def refresh_jobs(self) -> None:
        """Bring every vendor's jobs up to date now: queued tasks of free online devices are pushed, due retries played."""
        with self.fleet.lock:
            now = self.clock()
            for vendor_store in list(self.stores.values()):
                book = getattr(vendor_store, "book", None)
                if isinstance(book, JobBook):
                    with book.lock:
                        book.refresh_all(self.fleet, self.config.upgrade_seconds, now)

    def option(self, platform: str, name: str) -> Any:
        """A platform option's value."""
        return self.options[platform][name]

    def store(self, platform: str) -> Any:
        """The vendor state of a platform (see Platform.new_store)."""
        return self.stores[platform]

    def reseed(self) -> None:
        """Rebuild every platform's fleet from the seed, and its vendor state."""
        with self.fleet.lock:
            self.fleet.clear()
            for platform in self.platforms.values():
                if platform.new_store is not None:
                    self.stores[platform.name] = platform.new_store(self)
                platform.seed(self, seeded_random(self.config.seed, platform.name))

    def reset(self, devices: int | None = None, seed: int | None = None, offline_ratio: float | None = None) -> None:
        """Back to the start-up state; a new fleet size, seed or offline ratio also becomes the start-up value."""
        if devices is not None:
            self.initial_config.devices = devices
        if seed is not None:
            self.initial_config.seed = seed
        if offline_ratio is not None:
            self.initial_config.offline_ratio = offline_ratio
        self.config = dataclasses.replace(self.initial_config)
        self.clock_offset = 0.0
        self.faults.clear()
        self.stats.reset()
        self.sessions.expire_all()
        self.reseed()


def get_state() -> EmulatorState:
    """The EmulatorState of the current Flask app."""
    return current_app.extensions[EXTENSION_KEY]


def json_response(payload: Any, status: int = 200, content_type: str = "application/json") -> Response:
    """A compact JSON response (Flask computes Content-Length)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return Response(body.encode("utf-8"), status=status, content_type=content_type)
