# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pacing and vendor-level retries, shared by the platform clients.

Transport retries what HTTP says (connection errors, 429, 5xx). Some vendors answer "over the
limit" or "try again" inside a 200 (Tuya codes 1110/1199, IoT Core Throttling.*, EnOS internal
error codes): the client retries those through RetryBudget, with the same RetryPolicy. Staying
under a vendor's request rate in the first place: TokenBucket (requests per second, shared by
threads) and ActionPacer (per action, counted the way the cloud counts them). Clocks and sleeps
are injectable for tests.
"""

import collections
import threading
import time


class RetryBudget:
    """The retries of one request that the vendor refused unprocessed (over the limit, throttled, a transient error code).

    At most `retry.attempts` refusals in all; before each retry, the policy's backoff (at least
    `min_wait` seconds). One budget per logical request.
    """

    def __init__(self, retry, sleep=None, min_wait=0.0):
        self.retry = retry
        self.sleep = sleep or retry.sleep
        self.min_wait = min_wait
        self.refusals = 0

    def again(self):
        """After a refusal: True, having slept the backoff, when another attempt may go; False when the budget is spent."""
        self.refusals += 1
        if self.refusals >= self.retry.attempts:
            return False
        self.sleep(max(self.min_wait, self.retry.delay(self.refusals)))
        return True


class TokenBucket:
    """A thread-safe token bucket: `rate` requests per second, bursts of up to `burst`.

    acquire() reserves a slot under the lock and sleeps outside it, so concurrent callers
    are paced one after the other.
    """

    def __init__(self, rate, burst=1.0, clock=time.monotonic, sleep=time.sleep):
        self.rate = float(rate)
        self.burst = float(burst)
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()

    def acquire(self):
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self.sleep(wait)
        return wait


class ActionPacer:
    """At most `limits[action]` requests of an action in any one second.

    The cloud counts the requests it received in the last second. A request is sent only once a
    second has passed since the answer to the request `limit` places before it arrived: that
    request reached the cloud before its answer came back, so the cloud's count never passes the
    limit, whatever the network's delays. A client sends one request at a time: no lock.
    """

    def __init__(self, limits, clock=time.monotonic, sleep=time.sleep):
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self._answered = {}

    def wait(self, action):
        """Sleep until a request of `action` may go; returns the seconds slept."""
        answered = self._answered.get(action)
        if not answered or len(answered) < answered.maxlen:
            return 0.0
        wait = answered[0] + 1.0 - self.clock()
        if wait <= 0:
            return 0.0
        self.sleep(wait)
        return wait

    def answered(self, action):
        limit = self.limits.get(action)
        if limit:
            self._answered.setdefault(action, collections.deque(maxlen=limit)).append(self.clock())


def doubling_pauses(first, longest, window):
    """Pauses from `first` seconds, doubling up to `longest`, until they add up to at least `window` seconds."""
    pauses, total, pause = [], 0.0, first
    while total < window:
        pauses.append(pause)
        total += pause
        pause = min(pause * 2, longest)
    return pauses
