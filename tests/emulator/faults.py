# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection rules shared by every platform's API (never applied to /_emulator).

A rule is a dict::

    {"kind": "error" | "rate_limit" | "drop" | "slow" | "expire_sessions"
             | "drop_after" | "garble_after" | "late",
     "path": "<substring of, or regex searched in, the request path>",   # optional
     "method": "GET" | "POST" | ...,                                      # optional
     "times": 1,            # matching requests it applies to; -1 = forever
     "status": 503,         # error: the HTTP status
     "retry_after": 1,      # rate_limit: HTTP 429 with this Retry-After (seconds)
     "seconds": 2.0,        # slow, late: sleep this long, then apply the request and answer normally
     "body": "html",        # garble_after: "html" (an error page) or "truncated" (the first half of the real answer)
     "after": "POST /sc_cloud/upgrade/start"}   # optional: dormant until a request matching this was received

``error``, ``rate_limit`` and ``drop`` answer before the request is applied; ``drop_after`` and
``garble_after`` apply it first, then close the connection with no answer, or answer HTTP 200
with a body that is not JSON. ``late`` is ``slow`` under the name of what it does to a client
whose timeout is shorter than ``seconds``: the client gives up, and the request is applied
afterwards (``slow`` already sleeps before applying).

Rules are tried in order; the first one that matches the request applies and consumes
one of its ``times``; exhausted rules are removed. A rule with ``after`` (a substring of, or
regex searched in, ``"METHOD /path?query"``) sleeps until a request matching it arrives, and
applies from the next request on: e.g. faults on progress reads only once the upgrade was sent.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

KIND_ERROR = "error"
KIND_RATE_LIMIT = "rate_limit"
KIND_DROP = "drop"
KIND_SLOW = "slow"
KIND_EXPIRE_SESSIONS = "expire_sessions"
KIND_DROP_AFTER = "drop_after"
KIND_GARBLE_AFTER = "garble_after"
KIND_LATE = "late"
KINDS = (KIND_ERROR, KIND_RATE_LIMIT, KIND_DROP, KIND_SLOW, KIND_EXPIRE_SESSIONS, KIND_DROP_AFTER, KIND_GARBLE_AFTER, KIND_LATE)
# Kinds applied to the answer of a request that was processed normally.
AFTER_KINDS = (KIND_DROP_AFTER, KIND_GARBLE_AFTER)

GARBLE_HTML = "html"
GARBLE_TRUNCATED = "truncated"
GARBLE_BODIES = (GARBLE_HTML, GARBLE_TRUNCATED)

_KEYS = {"kind", "path", "method", "query", "times", "status", "retry_after", "seconds", "body", "after"}


class FaultRuleError(ValueError):
    """A fault rule is malformed."""


@dataclass
class FaultRule:
    """One fault injection rule."""

    kind: str
    path: str | None = None
    method: str | None = None
    query: str | None = None
    times: int = 1
    status: int = 503
    retry_after: float = 1
    seconds: float = 2.0
    body: str = GARBLE_HTML
    after: str | None = None
    armed: bool = True

    @classmethod
    def from_dict(cls, data: Any) -> FaultRule:
        """Validate and build a rule from its JSON form."""
        if not isinstance(data, dict):
            raise FaultRuleError("a fault rule must be a JSON object")
        unknown = set(data) - _KEYS
        if unknown:
            raise FaultRuleError(f"unknown fault rule keys: {sorted(unknown)}")
        kind = data.get("kind")
        if kind not in KINDS:
            raise FaultRuleError(f"fault kind must be one of {list(KINDS)}")
        path = data.get("path")
        if path is not None and not isinstance(path, str):
            raise FaultRuleError("path must be a string")
        method = data.get("method")
        if method is not None and not isinstance(method, str):
            raise FaultRuleError("method must be a string")
        query = data.get("query")
        if query is not None and not isinstance(query, str):
            raise FaultRuleError("query must be a string")
        rule = cls(kind=kind, path=path or None, method=method.upper() if method else None, query=query or None)
        rule.times = _number(data, "times", 1, int)
        if rule.times == 0 or rule.times < -1:
            raise FaultRuleError("times must be a positive integer or -1 (forever)")
        rule.status = _number(data, "status", 503, int)
        if not 100 <= rule.status <= 599:
            raise FaultRuleError("status must be an HTTP status code")
        rule.retry_after = _number(data, "retry_after", 1, float)
        rule.seconds = _number(data, "seconds", 2.0, float)
        if rule.retry_after < 0 or rule.seconds < 0:
            raise FaultRuleError("retry_after and seconds must not be negative")
        body = data.get("body", GARBLE_HTML)
        if body not in GARBLE_BODIES:
            raise FaultRuleError(f"body must be one of {list(GARBLE_BODIES)}")
        rule.body = body
        after = data.get("after")
        if after is not None and (not isinstance(after, str) or not after):
            raise FaultRuleError("after must be a non-empty string (a pattern of 'METHOD /path?query')")
        rule.after, rule.armed = after, after is None
        return rule

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the rule (with the remaining times)."""
        data: dict[str, Any] = {"kind": self.kind, "path": self.path, "method": self.method, "times": self.times}
        if self.query:
            data["query"] = self.query
        if self.after:
            data["after"] = self.after
            data["armed"] = self.armed
        if self.kind == KIND_ERROR:
            data["status"] = self.status
        elif self.kind == KIND_RATE_LIMIT:
            data["retry_after"] = self.retry_after
        elif self.kind in (KIND_SLOW, KIND_LATE):
            data["seconds"] = self.seconds
        elif self.kind == KIND_GARBLE_AFTER:
            data["body"] = self.body
        return data

    def matches(self, method: str, path: str, query: str = "") -> bool:
        """True if the rule applies to this request."""
        if self.method and self.method != method.upper():
            return False
        if self.query and not _found(self.query, query):
            return False
        return not self.path or _found(self.path, path)

    @property
    def retry_after_header(self) -> str:
        """Retry-After value (whole seconds, rounded up)."""
        return str(int(math.ceil(self.retry_after)))


def _found(pattern: str, text: str) -> bool:
    """A substring of text, or else a regular expression found in it."""
    if pattern in text:
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _number(data: dict[str, Any], key: str, default: float, kind: type) -> Any:
    value = data.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultRuleError(f"{key} must be a number")
    if kind is int and value != int(value):
        raise FaultRuleError(f"{key} must be an integer")
    return kind(value)


class FaultInjector:
    """The current list of fault rules (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def replace(self, rules: Any, append: bool = False) -> list[FaultRule]:
        """Validate and install rules (replacing the current ones unless append)."""
        if not isinstance(rules, list):
            raise FaultRuleError("rules must be a list")
        parsed = [FaultRule.from_dict(item) for item in rules]
        with self._lock:
            if append:
                self._rules.extend(parsed)
            else:
                self._rules = parsed
            return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def rules(self) -> list[dict[str, Any]]:
        """JSON form of the current rules."""
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def take(self, method: str, path: str, query: str = "") -> FaultRule | None:
        """The first rule matching the request, consuming one of its times."""
        with self._lock:
            request_line = f"{method.upper()} {path}?{query}"
            dormant = [rule for rule in self._rules if not rule.armed]
            for index, rule in enumerate(self._rules):
                if not rule.armed:
                    continue
                if rule.matches(method, path, query):
                    if rule.times > 0:
                        rule.times -= 1
                        if rule.times == 0:
                            del self._rules[index]
                    self._arm(dormant, request_line)
                    return rule
            self._arm(dormant, request_line)
        return None

    @staticmethod
    def _arm(dormant: list[FaultRule], request_line: str) -> None:
        """Wake the rules waiting for this request (they apply from the next one on)."""
        for rule in dormant:
            if rule.after and _found(rule.after, request_line):
                rule.armed = True
