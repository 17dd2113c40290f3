"""The smoke part of the suite: the core promise, end to end, on whatever wheel is installed, with
nothing but pytest. The release workflow runs this file on each wheel it builds, on a runner of
the wheel's own platform (a musllinux wheel in an Alpine container), before it publishes; the
full suite runs it with everything else.

    pip install <the wheel> pytest && python -m pytest -p no:cacheprovider tests/test_smoke.py
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import wawp_presence
from wawp_presence import (
    AsyncPresenceClient,
    AuthenticationError,
    InvalidChatIdError,
    InvalidSignatureError,
    PresenceClient,
    PresenceState,
    parse_event,
)
from wawp_presence.testing import FakeServer

ALICE = "447441429009@c.us"


def test_the_extension_loads_from_the_installed_package():
    from wawp_presence import _native

    assert _native.__file__ is not None and _native.__file__.endswith((".so", ".pyd"))
    assert _native.__name__ == "wawp_presence._native"
    assert "site-packages" in Path(wawp_presence.__file__).parts


@pytest.mark.parametrize("backend", ["wawp", "waha"])
def test_get_and_set_over_real_http(backend):
    seen = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
    with FakeServer(backend=backend) as server:
        server.set_presence(ALICE, "offline", last_seen=seen)
        if backend == "wawp":
            client = PresenceClient(
                instance_id=server.instance_id, access_token=server.access_token, base_url=server.url
            )
        else:
            client = PresenceClient.waha(server.url, session=server.session, api_key=server.api_key)
        with client:
            chat = client.get("+44 7441 429009")
            assert chat.id == ALICE
            assert chat.is_online is False
            assert chat.last_seen == seen and chat.last_seen.tzinfo is not None
            client.set(PresenceState.ONLINE)
            client.set("typing", chat_id=ALICE)
        assert server.own_presence == "online"
        assert server.chat_states == {ALICE: "typing"}


def test_the_asyncio_client_on_this_platforms_default_loop():
    async def main() -> list[bool]:
        with FakeServer(backend="wawp") as server:
            server.set_presence(ALICE, "online")
            async with AsyncPresenceClient(
                instance_id=server.instance_id, access_token=server.access_token, base_url=server.url
            ) as aclient:
                chats = await asyncio.gather(*(aclient.get(ALICE) for _ in range(20)))
                await aclient.set("offline")
        return [chat.is_online for chat in chats]

    assert asyncio.run(main()) == [True] * 20


def test_errors_are_typed_and_bad_input_sends_nothing():
    with FakeServer(backend="wawp") as server:
        with PresenceClient(
            instance_id=server.instance_id, access_token=server.access_token, base_url=server.url
        ) as client:
            with pytest.raises(InvalidChatIdError):
                client.get("not a chat id")
            assert server.requests == []
            server.fail_next(status=401, body={"message": "Unauthorized", "statusCode": 401})
            with pytest.raises(AuthenticationError) as caught:
                client.get(ALICE)
            assert server.access_token not in str(caught.value)


def test_a_signed_webhook_is_parsed_and_a_forged_one_refused():
    body = json.dumps(
        {
            "event": "presence.update",
            "session": "default",
            "payload": {"id": ALICE, "presences": [{"participant": ALICE, "lastKnownPresence": "online"}]},
        }
    ).encode()
    secret = "webhook-secret"
    signature = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    event = parse_event(body, headers={"X-Webhook-Hmac": signature}, secret=secret)
    assert event.chat.id == ALICE and event.chat.is_online
    with pytest.raises(InvalidSignatureError):
        parse_event(body, headers={"X-Webhook-Hmac": "0" * 128}, secret=secret)


def test_the_pytest_plugin_serves_a_fake(wawp_server):
    wawp_server.set_presence(ALICE, "online")
    with PresenceClient(
        instance_id=wawp_server.instance_id, access_token=wawp_server.access_token, base_url=wawp_server.url
    ) as client:
        assert client.get(ALICE).is_online


def test_the_command_line_runs():
    done = subprocess.run([sys.executable, "-m", "wawp_presence", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()
