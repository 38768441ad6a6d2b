"""Flood control: one notice for a flooding user, then quiet for a window; others unaffected."""

from __future__ import annotations

import pytest

from bot.telegram_bot.transport.flood import FloodGuard
from tests.conftest import FakeClock


def verdicts(
    guard: FloodGuard, user_id: int, count: int, clock: FakeClock, gap: float
) -> list[str]:
    found = []
    for _ in range(count):
        found.append(guard.check(user_id))
        clock.advance(gap)
    return found


def test_a_user_within_the_limit_is_always_answered(clock: FakeClock) -> None:
    guard = FloodGuard(20, clock=clock)
    # One message every 3.5 s for ten minutes: 17 a minute, under the limit.
    assert set(verdicts(guard, 1, 170, clock, 3.5)) == {"allow"}


def test_a_flood_gets_one_notice_then_is_dropped_quietly(clock: FakeClock) -> None:
    guard = FloodGuard(5, clock=clock)
    found = verdicts(guard, 1, 12, clock, 0.1)
    assert found == ["allow"] * 5 + ["notify"] + ["drop"] * 6


def test_after_a_quiet_window_the_user_is_answered_again(clock: FakeClock) -> None:
    guard = FloodGuard(5, window=60, clock=clock)
    verdicts(guard, 1, 6, clock, 0.1)
    clock.advance(30)
    assert guard.check(1) == "drop"
    clock.advance(31)
    assert verdicts(guard, 1, 5, clock, 0.1) == ["allow"] * 5


def test_a_user_who_keeps_flooding_gets_at_most_one_notice_a_window(clock: FakeClock) -> None:
    guard = FloodGuard(5, window=60, clock=clock)
    found = verdicts(guard, 1, 600, clock, 0.5)  # five minutes, two messages a second
    assert 3 <= found.count("notify") <= 5


def test_other_users_are_not_slowed_by_a_flooder(clock: FakeClock) -> None:
    guard = FloodGuard(5, clock=clock)
    verdicts(guard, 1, 50, clock, 0.01)
    assert verdicts(guard, 2, 5, clock, 0.01) == ["allow"] * 5


def test_idle_users_are_forgotten(clock: FakeClock) -> None:
    guard = FloodGuard(5, window=60, clock=clock)
    for user_id in range(100):
        guard.check(user_id)
    assert guard.tracked_users() == 100
    clock.advance(61)
    guard.check(1000)
    assert guard.tracked_users() == 1


def test_memory_stays_bounded_under_many_users(clock: FakeClock) -> None:
    guard = FloodGuard(5, max_users=50, clock=clock)
    for user_id in range(1000):
        guard.check(user_id)
        assert guard.tracked_users() <= 50


def test_a_throttled_user_is_not_forgotten_before_the_quiet_window_ends(clock: FakeClock) -> None:
    guard = FloodGuard(2, window=60, clock=clock)
    verdicts(guard, 1, 3, clock, 0.1)
    clock.advance(59)
    guard.check(2)
    assert guard.check(1) == "drop"


@pytest.mark.parametrize("limit", [0, -1])
def test_a_nonsense_limit_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        FloodGuard(limit)


def test_inline_queries_have_their_own_larger_allowance(clock: FakeClock) -> None:
    guard = FloodGuard(2, inline_limit=4, clock=clock)
    assert [guard.check_inline(7) for _ in range(6)] == ["allow"] * 4 + ["notify", "drop"]
    assert guard.check(7) == "allow"  # messages are counted apart
    clock.advance(61)
    assert guard.check_inline(7) == "allow"
