"""The feed of an account's messages (services/feed.py): the next batch is claimed while the
last messages of the current one are out, joins it, and a batch with priority-0 messages is
handed back instead of joining."""

from __future__ import annotations

import asyncio
from typing import Any

from chalicelib.services.feed import Feed


def _m(name: str, priority: int = 2) -> Any:
    return {"id": name, "priority": priority}


DONE: list[str] = []  # messages whose "SMTP transaction" has ended


def _drain(feed: Feed, workers: int = 2) -> list[str]:
    taken: list[str] = []
    DONE.clear()

    async def worker() -> None:
        while (message := await feed.next()) is not None:
            taken.append(message["id"])
            for _ in range(3):  # a transaction spans several turns of the loop
                await asyncio.sleep(0)
            DONE.append(message["id"])

    async def go() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))
        await feed.close()

    asyncio.run(go())
    return taken


def test_the_next_batches_join_before_the_current_one_drains() -> None:
    batches = [[_m("d"), _m("e")], [_m("f")], []]
    claims: list[int] = []
    prepared: list[list[str]] = []

    async def claim() -> list[Any]:
        claims.append(len(DONE))
        return batches.pop(0)

    async def prepare(batch: list[Any]) -> None:
        prepared.append([m["id"] for m in batch])

    feed = Feed([_m("a"), _m("b"), _m("c")], 2, claim, prepare)
    assert _drain(feed) == ["a", "b", "c", "d", "e", "f"]
    assert claims[0] < 3, "the next batch was claimed while this one's messages were still out"
    assert prepared == [["d", "e"], ["f"]] and feed.held == []


def test_a_batch_with_priority_zero_is_handed_back() -> None:
    urgent = [_m("u", priority=0), _m("v")]

    async def claim() -> list[Any]:
        return urgent

    async def prepare(batch: list[Any]) -> None:
        raise AssertionError("a batch handed back is prepared by the caller")

    feed = Feed([_m("a")], 1, claim, prepare)
    assert _drain(feed) == ["a"]
    assert feed.held == urgent


def test_without_a_claim_the_feed_is_just_its_batch() -> None:
    async def prepare(batch: list[Any]) -> None:
        raise AssertionError("nothing to prepare")

    assert _drain(Feed([_m("a"), _m("b")], 5, None, prepare)) == ["a", "b"]


def test_messages_claimed_but_never_taken_are_handed_back_on_close() -> None:
    async def claim() -> list[Any]:
        return [_m("x"), _m("y")]

    async def prepare(batch: list[Any]) -> None:
        return None

    async def go() -> tuple[Any, list[Any]]:
        feed = Feed([_m("a")], 1, claim, prepare)
        first = await feed.next()  # the worker stops after one message (a failure, say)
        await asyncio.sleep(0)
        return first, await feed.close()

    first, left = asyncio.run(go())
    assert first["id"] == "a" and [m["id"] for m in left] == ["x", "y"]
