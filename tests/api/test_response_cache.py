"""The price response cache: one render per burst, stale-while-revalidate, invalidated by new data."""

from __future__ import annotations

import asyncio

from app.cache.responses import ResponseCache


class Renderer:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        await asyncio.sleep(0.01)
        return f"body-{self.calls}".encode()


async def test_concurrent_misses_share_one_render():
    cache, render = ResponseCache(), Renderer()
    bodies = await asyncio.gather(*(cache.fetch("q", "v1", render) for _ in range(10)))
    assert render.calls == 1 and set(bodies) == {b"body-1"}


async def test_new_data_version_renders_again():
    cache, render = ResponseCache(), Renderer()
    assert await cache.fetch("q", "v1", render) == b"body-1"
    assert await cache.fetch("q", "v1", render) == b"body-1"
    assert await cache.fetch("q", "v2", render) == b"body-2"


async def test_an_old_body_is_served_once_more_while_one_background_render_replaces_it():
    cache, render = ResponseCache(max_age=0.0), Renderer()
    await cache.fetch("q", "v1", render)
    stale = await asyncio.gather(*(cache.fetch("q", "v1", render) for _ in range(5)))
    assert stale == [b"body-1"] * 5  # nobody waited for a render
    await asyncio.sleep(0.05)
    assert render.calls == 2  # exactly one refresh for the whole burst
    assert (await cache.store.get("q", "v1"))[1] == b"body-2"


async def test_a_failed_render_is_not_cached():
    cache = ResponseCache()

    async def broken() -> bytes:
        raise ValueError("boom")

    for _ in range(2):
        try:
            await cache.fetch("q", "v1", broken)
        except ValueError:
            pass
    assert await cache.store.get("q", "v1") is None
