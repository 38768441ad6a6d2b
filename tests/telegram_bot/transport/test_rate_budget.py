"""The one rate budget: Telegram's limits are never exceeded, and answers go first.

Driven by a fake clock: the test moves time and asks the budget what it grants, so nothing
here depends on how fast the machine is."""

from __future__ import annotations

import asyncio

from bot.telegram_bot.transport.rate_budget import Priority, RateBudget


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_until_granted(
    budget: RateBudget, clock: FakeClock, waiting: list[tuple[str, asyncio.Future[None]]]
) -> list[tuple[float, str]]:
    """Move the clock as the budget asks until every request is granted: (when, name)."""
    granted: list[tuple[float, str]] = []
    seen: set[int] = set()
    for _ in range(100_000):
        wait = budget.grant_due()
        for name, future in waiting:
            if future.done() and id(future) not in seen:
                seen.add(id(future))
                granted.append((clock.now, name))
        if wait is None:
            return granted
        clock.now += max(wait, 0.001)
    raise AssertionError("the budget never granted everything")


def most_in_any_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_never_more_than_30_messages_in_any_second_whatever_is_asked() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    waiting = [
        (f"{kind}{n}", budget.request(priority, n + 1))
        for n in range(150)
        for kind, priority in (("a", Priority.ANSWER), ("n", Priority.ANNOUNCEMENT))
    ]
    granted = run_until_granted(budget, clock, waiting)
    assert len(granted) == 300
    assert most_in_any_window([t for t, _ in granted], 1.0) <= 30


async def test_answers_go_before_staff_posts_and_staff_posts_before_announcements() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    # Announcements asked first, then staff posts to users, then answers: order of asking
    # must not matter, only the priority.
    waiting = [
        (f"announce{n}", budget.request(Priority.ANNOUNCEMENT, 10_000 + n)) for n in range(60)
    ]
    waiting += [(f"staff{n}", budget.request(Priority.STAFF, 20_000 + n)) for n in range(60)]
    waiting += [(f"answer{n}", budget.request(Priority.ANSWER, 30_000 + n)) for n in range(60)]
    granted = run_until_granted(budget, clock, waiting)
    # Announcements asked first took the free slots; from then on, by priority only.
    times = {
        kind: [t for t, name in granted if name.startswith(kind) and t > 1000.0]
        for kind in ("answer", "staff", "announce")
    }
    assert max(times["answer"]) <= min(times["staff"])
    assert max(times["staff"]) <= min(times["announce"])
    assert len(times["answer"]) == 60  # none could go before the first second was over


async def test_a_group_gets_at_most_20_messages_a_minute_and_its_limit_holds_up_no_one_else() -> (
    None
):
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    group = -100123
    waiting = [(f"group{n}", budget.request(Priority.STAFF, group)) for n in range(45)]
    waiting += [("answer", budget.request(Priority.ANSWER, 42))]
    granted = run_until_granted(budget, clock, waiting)
    to_group = [t for t, name in granted if name.startswith("group")]
    assert most_in_any_window(to_group, 60.0) <= 20
    (answered_at,) = [t for t, name in granted if name == "answer"]
    assert answered_at == 1000.0  # at once, though the group waits for minutes


async def test_one_chat_gets_about_one_message_a_second_from_the_background_senders() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    waiting = [(f"m{n}", budget.request(Priority.STAFF, 7)) for n in range(30)]
    granted = run_until_granted(budget, clock, waiting)
    times = [t for t, _ in granted]
    assert most_in_any_window(times, 10.0) <= 15  # bursts pass, the pace is ~1/s
    assert times[-1] - times[0] >= 20


async def test_a_429_pauses_its_chat_for_its_retry_after_and_no_other() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    budget.pause(30.0, -100123)
    waiting = [
        ("group", budget.request(Priority.STAFF, -100123)),
        ("answer", budget.request(Priority.ANSWER, 5)),
    ]
    granted = {name: t for t, name in run_until_granted(budget, clock, waiting)}
    assert granted["answer"] == 1000.0
    assert granted["group"] >= 1030.0


async def test_a_slot_frees_a_second_after_telegram_answered_not_after_it_was_granted() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    slots = [await budget.acquire(Priority.ANSWER, 100 + n) for n in range(29)]
    late = budget.request(Priority.ANSWER, 500)
    clock.now += 5.0  # the 29 requests are still on their way (a busy machine)
    budget.grant_due()
    assert not late.done()
    for slot in slots:
        budget.sent(slot)
    clock.now += 0.999
    budget.grant_due()
    assert not late.done()
    clock.now += 0.002
    budget.grant_due()
    assert late.done()
