"""`keep_online()`: online on enter and at a pace while the block runs, offline on exit (also when
the body raises), refresh failures logged and never raised into the body. One implementation
under both clients (the block of `typing()`), so the sync/async pair is run where the refresh
runs (a thread's block vs. an event loop's), and both backends where the route differs."""

from __future__ import annotations

import logging
import time

import pytest
from presence_helpers import BOTH_BACKENDS, EVERY_MODE, TWO_WAYS, route

from wawp_presence import AsyncPresenceClient, PresenceClient, ServerError


class BodyFailed(Exception):
    pass


def own_states(server) -> list[str]:
    """The session-wide presences the client sent, in order."""
    posts = [r for r in server.requests if r["method"] == "POST" and r["path"].split("?")[0] == route(server, "set")]
    return [r["json"]["presence"] for r in posts if "chatId" not in (r["json"] or {})]


@EVERY_MODE
def test_online_on_enter_offline_on_exit(api, server):
    with api.keep_online():
        assert own_states(server) == ["online"]
        assert server.own_presence == "online"
    assert own_states(server) == ["online", "offline"]
    assert server.own_presence == "offline"


@BOTH_BACKENDS
def test_the_set_route_and_body_on_each_backend(api, server):
    with api.keep_online():
        pass
    posts = [r for r in server.requests if r["method"] == "POST"]
    assert [r["path"].split("?")[0] for r in posts] == [route(server, "set")] * 2
    assert [r["json"] for r in posts] == [{"presence": "online"}, {"presence": "offline"}]


@TWO_WAYS
def test_offline_is_sent_even_when_the_body_raises(api, server):
    with pytest.raises(BodyFailed, match="boom"):
        with api.keep_online():
            raise BodyFailed("boom")
    assert own_states(server) == ["online", "offline"]


@TWO_WAYS  # the sync client's block refreshes between calls, the async one's from its loop's side
def test_online_is_re_sent_while_the_block_runs_and_stops_at_exit(api, server):
    with api.keep_online(interval=0.1):
        time.sleep(0.45)
    states = own_states(server)
    assert states[-1] == "offline"
    assert states[:-1] == ["online"] * (len(states) - 1) and len(states) - 1 >= 3, states
    time.sleep(0.3)  # nothing is re-sent once the block has ended
    assert own_states(server) == states


@TWO_WAYS
def test_a_failing_refresh_is_logged_at_warning_and_the_body_goes_on(api, server, caplog):
    caplog.set_level(logging.WARNING, logger="wawp_presence")
    finished = False
    with api.keep_online(interval=0.1):
        # Every refresh in the next moment fails (the api fixture's client does not retry).
        server.fail_next(status=503, times=2)
        time.sleep(0.5)
        finished = True
    assert finished
    assert own_states(server)[-1] == "offline"
    assert server.own_presence == "offline"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("wawp_presence")]
    assert any("refreshing online failed" in r.getMessage() and "503" in r.getMessage() for r in warnings), [
        r.getMessage() for r in caplog.records
    ]


@TWO_WAYS
def test_a_failing_first_online_is_raised_and_nothing_else_is_sent(api, server):
    server.fail_next(status=500)
    entered = False
    with pytest.raises(ServerError):
        with api.keep_online():
            entered = True
    assert not entered
    time.sleep(0.2)
    assert own_states(server) == ["online"]  # the failed one; no refresh, no offline


@TWO_WAYS
def test_a_failing_offline_is_raised(api, server):
    with pytest.raises(ServerError):
        with api.keep_online(interval=60):
            server.fail_next(status=500)
    assert own_states(server) == ["online", "offline"]


@TWO_WAYS
def test_a_failing_offline_after_a_failing_body_is_noted_on_the_body_exception(api, server):
    with pytest.raises(BodyFailed) as caught:
        with api.keep_online(interval=60):
            server.fail_next(status=500)
            raise BodyFailed("boom")
    notes = getattr(caught.value, "__notes__", [])
    assert any("could not set the session offline" in n for n in notes), notes


@pytest.mark.parametrize("interval", [0, -1, float("nan"), 0.01, float("inf")])
def test_an_interval_too_fast_or_not_a_number_is_refused(api, interval):
    with pytest.raises(ValueError, match="interval"):
        with api.keep_online(interval=interval):
            pass


def test_the_interval_may_be_given_by_position(api, server):
    with api.keep_online(60):
        pass
    assert own_states(server) == ["online", "offline"]


def test_the_block_names_itself(server):
    with PresenceClient(server.instance_id, server.access_token, base_url=server.url) as client:
        block = client.keep_online()
        assert block.chat_id is None
        assert repr(block) == "<online>"


def test_each_client_says_which_with_it_needs(server):
    with PresenceClient(server.instance_id, server.access_token, base_url=server.url) as client:
        with pytest.raises(TypeError, match=r"PresenceClient.keep_online\(\) is used with `with`"):
            client.keep_online().__aenter__()

    async def misuse() -> None:
        aclient = AsyncPresenceClient(server.instance_id, server.access_token, base_url=server.url)
        with pytest.raises(TypeError, match=r"AsyncPresenceClient.keep_online\(\) is used with `async with`"):
            aclient.keep_online().__enter__()

    import asyncio

    asyncio.run(misuse())
    assert server.requests == []


def test_the_contract_example_runs_in_asyncio(server):
    import asyncio

    async def main() -> None:
        async with AsyncPresenceClient(server.instance_id, server.access_token, base_url=server.url) as aclient:
            async with aclient.keep_online():
                assert server.own_presence == "online"
                await asyncio.sleep(0.05)

    asyncio.run(main())
    assert server.own_presence == "offline"
