"""The outbox's store: items survive a restart, keys make a put idempotent, queued replies of
one ticket merge, and lanes keep their order."""

from __future__ import annotations

from pathlib import Path

from bot.storage.outbox import OutboxStore


def test_an_item_put_twice_under_one_key_is_kept_once(tmp_path: Path) -> None:
    with OutboxStore(tmp_path / "q.sqlite3") as store:
        assert store.put("card:1", lane="t1", chat_id=-5, kind="card", payload={"ticket": 1})
        assert not store.put("card:1", lane="t1", chat_id=-5, kind="card", payload={"ticket": 1})
        assert store.pending() == 1


def test_replies_queued_for_one_ticket_merge_into_one_item_until_it_is_being_sent(
    tmp_path: Path,
) -> None:
    with OutboxStore(tmp_path / "q.sqlite3") as store:
        for n in range(3):
            store.merge(
                f"r{n}", lane="t1", chat_id=-5, kind="relay", part={"text": f"m{n}"}, max_parts=20
            )
        (item,) = store.heads()
        assert [p["text"] for p in item.payload["parts"]] == ["m0", "m1", "m2"]
        store.mark_sending(item.id)
        store.merge("r3", lane="t1", chat_id=-5, kind="relay", part={"text": "m3"}, max_parts=20)
        assert store.pending() == 2  # what is in flight is not changed under the sender
        # The same reply handled twice (a restart before Telegram confirmed the update).
        assert not store.merge(
            "r3", lane="t1", chat_id=-5, kind="relay", part={"text": "m3"}, max_parts=20
        )


def test_a_merge_stops_at_the_cap_and_starts_a_new_item(tmp_path: Path) -> None:
    with OutboxStore(tmp_path / "q.sqlite3") as store:
        for n in range(5):
            store.merge(
                f"r{n}", lane="t1", chat_id=-5, kind="relay", part={"text": str(n)}, max_parts=2
            )
        assert store.pending() == 3


def test_items_being_sent_at_a_crash_go_again_and_lanes_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    with OutboxStore(path) as store:
        store.put("a", lane="t1", chat_id=-5, kind="card", payload={"n": 1})
        store.put("b", lane="t1", chat_id=-5, kind="notice", payload={"n": 2})
        store.put("c", lane="t2", chat_id=-5, kind="card", payload={"n": 3})
        first = store.heads()[0]
        store.mark_sending(first.id)
    with OutboxStore(path) as store:  # a new process on the same file
        assert store.recover() == 1
        assert [(i.lane, i.payload["n"]) for i in store.heads()] == [("t1", 1), ("t2", 3)]
        store.done(first.id)
        assert [(i.lane, i.payload["n"]) for i in store.heads()] == [("t1", 2), ("t2", 3)]


def test_forgetting_a_ticket_drops_its_unsent_items(tmp_path: Path) -> None:
    with OutboxStore(tmp_path / "q.sqlite3") as store:
        store.merge("r", lane="t1", chat_id=-5, kind="relay", part={"text": "ID"}, max_parts=20)
        store.put("n", lane="t2", chat_id=-5, kind="notice", payload={})
        assert store.drop_lanes(["t1"]) == 1
        assert [i.lane for i in store.heads()] == ["t2"]
