"""Retry policy: status verdicts, jittered backoff, budgets and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from db2api.transport.retry import RetryPolicy, Verdict, classify, classify_item, parse_retry_after

ACK, RETRY, DEAD, FATAL = Verdict.ACK, Verdict.RETRY, Verdict.DEAD, Verdict.FATAL


@pytest.mark.parametrize(
    ("status", "request_verdict", "item_verdict"),
    [
        (200, ACK, ACK),
        (201, ACK, ACK),
        (204, ACK, ACK),
        (400, DEAD, DEAD),
        (401, FATAL, DEAD),
        (403, FATAL, DEAD),
        (404, FATAL, DEAD),
        (405, FATAL, DEAD),
        (407, FATAL, DEAD),
        (408, RETRY, RETRY),
        (409, DEAD, DEAD),
        (413, DEAD, DEAD),
        (422, DEAD, DEAD),
        (429, RETRY, RETRY),
        (500, RETRY, RETRY),
        (501, DEAD, DEAD),
        (502, RETRY, RETRY),
        (503, RETRY, RETRY),
        (504, RETRY, RETRY),
        (301, DEAD, DEAD),
    ],
)
def test_statuses_are_classified(status, request_verdict, item_verdict):
    assert classify(status) is request_verdict
    assert classify_item(status) is item_verdict


@pytest.mark.parametrize(
    ("policy", "caps"),
    [
        (
            RetryPolicy(base_delay=0.25, max_delay=30.0),
            [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0],
        ),
        (RetryPolicy(base_delay=1.0, max_delay=5.0), [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]),
        (RetryPolicy(base_delay=2.0, max_delay=2.0), [2.0] * 9),
    ],
)
def test_the_backoff_cap_doubles_up_to_max_delay(policy, caps):
    assert [policy.cap(attempt) for attempt in range(1, 10)] == caps


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20])
def test_jittered_delay_stays_within_zero_and_the_cap(attempt):
    policy = RetryPolicy(base_delay=0.25, max_delay=30.0)
    rng = random.Random(attempt)

    draws = [policy.delay(attempt, rng=rng) for _ in range(2000)]

    cap = policy.cap(attempt)
    assert all(0.0 <= d <= cap for d in draws)
    # Full jitter: the draws spread over the whole interval, not bunched at the cap.
    assert min(draws) < cap * 0.05
    assert max(draws) > cap * 0.95


def test_a_seeded_rng_gives_repeatable_delays():
    policy = RetryPolicy()

    first = [policy.delay(a, rng=random.Random(7)) for a in range(1, 6)]
    second = [policy.delay(a, rng=random.Random(7)) for a in range(1, 6)]

    assert first == second


@pytest.mark.parametrize(
    ("attempt", "retry_after", "low", "high"),
    [
        # A Retry-After above the jitter cap (cap(3) == 1.0) is the wait exactly ...
        (3, 10.0, 10.0, 10.0),
        # ... but never longer than max_delay.
        (3, 120.0, 30.0, 30.0),
        (9, 120.0, 30.0, 30.0),
        # Below the cap it is only a floor under the jitter draw (cap(7) == 16.0).
        (7, 0.0, 0.0, 16.0),
        (7, 10.0, 10.0, 16.0),
    ],
)
def test_retry_after_is_a_floor_capped_at_max_delay(attempt, retry_after, low, high):
    policy = RetryPolicy(base_delay=0.25, max_delay=30.0)
    rng = random.Random(1)

    draws = [policy.delay(attempt, retry_after=retry_after, rng=rng) for _ in range(1000)]

    assert all(low <= d <= high for d in draws)
    assert max(draws) == high or high - max(draws) < high * 0.05


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"give_up_after": 0},
            "retry give_up_after must be a positive number of seconds (got 0)",
        ),
        ({"base_delay": 0.0}, "retry delays need 0 < base_delay <= max_delay (got 0.0, 30.0)"),
        (
            {"base_delay": 5.0, "max_delay": 1.0},
            "retry delays need 0 < base_delay <= max_delay (got 5.0, 1.0)",
        ),
    ],
)
def test_a_bad_policy_is_refused(changes, message):
    with pytest.raises(ValueError) as caught:
        RetryPolicy(**changes)

    assert str(caught.value) == message


NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),  # in the future
        ("Wed, 21 Oct 2015 07:30:00 GMT", 120.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
        ("Wed, 99 Foo 2015", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_parsed(value, expected):
    assert parse_retry_after(value, now=NOW) == expected
