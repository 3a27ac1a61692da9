"""Tiny price sources for poller tests: each fetch plays the next step of a script.

A step is a list of offers, a ``FetchResult``, an exception to raise, or an async callable
returning one of those (to block on an event or count calls). The registry imports these by
name, exactly as it imports a real adapter.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from providers.base import FetchResult, PriceSource

SCRIPTS: dict[str, list[Any]] = defaultdict(list)
CALLS: dict[str, int] = defaultdict(int)


def reset() -> None:
    SCRIPTS.clear()
    CALLS.clear()


class ScriptedSource(PriceSource):
    DISPLAY_NAME = "Scripted"
    HOMEPAGE = "https://example-provider.test"
    PRICING_URL = "https://example-provider.test/pricing"

    async def fetch_offers(self) -> FetchResult:
        CALLS[self.NAME] += 1
        script = SCRIPTS[self.NAME]
        if not script:
            raise AssertionError(f"{self.NAME} was polled more often than the test scripted")
        step = script.pop(0)
        if callable(step):
            step = await step()
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, FetchResult):
            return step
        return FetchResult(offers=list(step))


class AlphaSource(ScriptedSource):
    NAME = "fake-alpha"
    DISPLAY_NAME = "Alpha Cloud"
    POLL_INTERVAL_SECONDS = 600


class BetaSource(ScriptedSource):
    NAME = "fake-beta"
    DISPLAY_NAME = "Beta Cloud"
    POLL_INTERVAL_SECONDS = 3600


class KeyedSource(ScriptedSource):
    NAME = "fake-keyed"
    DISPLAY_NAME = "Keyed Cloud"
    REQUIRES_KEY = True

    @classmethod
    def credentials_from_settings(cls, settings):
        return {"api_key": settings.provider_keys.get("fake-keyed")}  # never set: not configured


REGISTRY: dict[str, str] = {
    "fake-alpha": f"{__name__}:AlphaSource",
    "fake-beta": f"{__name__}:BetaSource",
    "fake-keyed": f"{__name__}:KeyedSource",
    # An adapter another engineer has not written yet: registered, but its module is missing.
    "fake-missing": "tests.services.no_such_adapter:MissingSource",
    "lambdalabs": "providers.lambdalabs:LambdaSource",
}
