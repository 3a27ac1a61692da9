"""Keys: their format, and each key being its own account."""

from __future__ import annotations

import pytest

from providers.base import LaunchRequest
from providers.errors import InvalidCredentials, NotFound
from providers.sandbox import SandboxProvider, generate_api_key
from providers.sandbox.cloud import API_KEY_PATTERN


def test_generated_keys_are_valid_and_distinct():
    keys = {generate_api_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(API_KEY_PATTERN.match(k) for k in keys)


@pytest.mark.parametrize(
    "bad_key",
    ["", "sbx_short", "sk_live_0123456789abcdefghij", "sbx_0123456789abcdef!", "Bearer sbx_0123456789abcdefgh "],
)
async def test_invalid_key_is_refused_without_echoing_it(cloud, bad_key):
    provider = SandboxProvider.on_cloud(cloud, bad_key)
    with pytest.raises(InvalidCredentials) as caught:
        await provider.verify_credentials()
    assert caught.value.status_code == 401
    if bad_key:
        assert bad_key not in str(caught.value)


async def test_valid_key_verifies(provider):
    await provider.verify_credentials()


async def test_offers_need_no_key(cloud):
    anonymous = SandboxProvider.on_cloud(cloud, "")
    assert (await anonymous.fetch_offers()).offers


async def test_a_key_cannot_see_or_touch_another_keys_instances(provider, launch, cloud, clock):
    mine = (await launch(client_token="ch-1")).instance_id
    intruder = SandboxProvider.on_cloud(cloud, generate_api_key())

    assert await intruder.list_instances() == []
    for operation in ("get_instance", "stop_instance", "start_instance", "reboot_instance"):
        with pytest.raises(NotFound):
            await getattr(intruder, operation)(mine)
    await intruder.terminate_instance(mine)  # NotFound for them, so "already gone": a no-op
    # and their launch with the same client_token is their own instance, not mine
    theirs = await intruder.create_instance(
        LaunchRequest(name="x", instance_type="sbx.h100.1x", region="sandbox-eu-1", client_token="ch-1")
    )
    assert theirs.instance_id != mine

    clock.advance(20)
    assert (await provider.get_instance(mine)).raw_status == "running"


def test_first_calls_of_a_new_key_at_once_all_succeed(cloud):
    """Two processes (threads here) whose first call for a fresh key arrive together: both create
    the account, one wins, and neither answers 500."""
    import threading

    from providers.sandbox import generate_api_key

    keys = [generate_api_key() for _ in range(5)]
    errors: list[BaseException] = []
    start = threading.Barrier(4 * len(keys))

    def first_call(key: str) -> None:
        start.wait()
        try:
            cloud.list_instances(key)
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_call, args=(key,)) for key in keys for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
