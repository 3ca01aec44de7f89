# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared pacing and vendor-level retries: token bucket (Tuya), per-action pacer (IoT Core), retry budget, pause schedule."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._pacing import ActionPacer, RetryBudget, TokenBucket, doubling_pauses
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import RetryPolicy


def test_token_bucket_paces_callers_at_the_rate():
    now = [0.0]
    slept = []
    bucket = TokenBucket(10.0, clock=lambda: now[0], sleep=slept.append)
    waits = [bucket.acquire() for _index in range(5)]
    assert waits[0] == 0 and waits[1:] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert slept == pytest.approx([0.1, 0.2, 0.3, 0.4])
    now[0] = 10.0
    assert bucket.acquire() == 0     # idle time refills, but only up to the burst
    assert bucket.acquire() == pytest.approx(0.1)


def test_the_pacer_keeps_each_action_under_its_limit_per_second():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = ActionPacer({'A': 2}, clock=lambda: now[0], sleep=sleep)
    waits = []
    for _dummy in range(5):
        waits.append(pacer.wait('A'))
        now[0] += 0.1          # the answer takes 0.1 s
        pacer.answered('A')
    # Answers at 0.1 and 0.2: the third request waits until a second after the first answer, and so on.
    assert waits == pytest.approx([0, 0, 0.9, 0, 0.9])
    assert pacer.wait('unlimited') == 0 and pacer.wait('A') == pytest.approx(0)   # the last answers are over 1 s old now
    pacer.answered('unlimited')
    assert pacer.wait('unlimited') == 0


def test_a_retry_budget_allows_attempts_minus_one_retries_with_the_policy_backoff():
    slept = []
    budget = RetryBudget(RetryPolicy(attempts=4, backoff=1.0, max_backoff=20.0, sleep=slept.append, rand=lambda: 1.0))
    assert [budget.again() for _dummy in range(4)] == [True, True, True, False]
    assert budget.refusals == 4
    assert slept == [1.0, 2.0, 4.0]     # retry.delay(1), (2), (3): nothing slept once the budget is spent


def test_a_retry_budget_waits_at_least_its_minimum_and_may_sleep_elsewhere():
    policy_sleeps, own_sleeps = [], []
    policy = RetryPolicy(attempts=3, backoff=0.1, sleep=policy_sleeps.append, rand=lambda: 0.0)
    budget = RetryBudget(policy, sleep=own_sleeps.append, min_wait=1.0)
    assert budget.again() and budget.again() and not budget.again()
    assert own_sleeps == [1.0, 1.0] and policy_sleeps == []


def test_a_single_attempt_policy_never_retries():
    slept = []
    assert RetryBudget(RetryPolicy(attempts=1, sleep=slept.append)).again() is False
    assert slept == []


@pytest.mark.parametrize('first, longest, window, expected', [
    (2.0, 10.0, 64.0, [2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0, 10.0]),
    (2.0, 10.0, 4.0, [2.0, 4.0]),
    (2.0, 10.0, 0.0, []),
])
def test_doubling_pauses_cover_the_window(first, longest, window, expected):
    pauses = doubling_pauses(first, longest, window)
    assert pauses == expected
    assert sum(pauses) >= window and (not pauses or sum(pauses[:-1]) < window)
