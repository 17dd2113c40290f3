"""wawp_presence.testing.FakeServer and its pytest plugin, as a user of the package would rely on them.

Asked directly over HTTP with urllib, so these tests do not depend on the client under test.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from presence_helpers import BOTH_BACKENDS, CHAT, CHAT2, build_client, raw_call, route, start_server

from wawp_presence import PresenceClient, PresenceState
from wawp_presence.testing import FakeServer

# ============================================================================== the plugin's fixtures


@pytest.mark.parametrize("fixture_name, backend", [("wawp_server", "wawp"), ("waha_server", "waha")])
def test_plugin_fixtures_give_a_running_fake(request, fixture_name, backend):
    server = request.getfixturevalue(fixture_name)
    assert isinstance(server, FakeServer)
    assert server.backend == backend
    assert server.url.startswith("http://127.0.0.1:")
    server.set_presence(CHAT, "online")
    with build_client(PresenceClient, server, max_retries=0) as client:
        assert client.get(CHAT).presences[0].last_known_presence is PresenceState.ONLINE


# ============================================================================== construction


@BOTH_BACKENDS
def test_defaults(make_server, backend):
    server = make_server(backend)
    assert server.backend == backend
    assert server.session == "default"
    assert server.engine == "NOWEB"
    assert isinstance(server.port, int) and server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_wawp_credentials_are_random_unless_given():
    with FakeServer(backend="wawp") as one, FakeServer(backend="wawp") as two:
        assert one.instance_id and one.access_token
        assert one.access_token != two.access_token
        assert one.port != two.port
    with FakeServer(backend="wawp", instance_id="my-instance", access_token="my-token") as given:
        assert given.instance_id == "my-instance"
        assert given.access_token == "my-token"


def test_context_manager_stops_the_server():
    # A session no other server has: another test's fake may be given the freed port, but it
    # cannot answer 200 for this session (an HTTPError is a URLError too).
    with FakeServer(backend="waha", session="only-this-server") as server:
        url = server.url
        status, _, _ = raw_call(server, "GET", "/api/only-this-server/presence")
        assert status == 200
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(url + "/api/only-this-server/presence", timeout=5)


def test_stop(backend):
    server = start_server(backend)
    url = server.url
    server.stop()
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(url + "/", timeout=5)


# ============================================================================== credentials


def test_wawp_missing_or_wrong_credentials_get_401(make_server):
    server = make_server("wawp")
    assert raw_call(server, "GET", route(server, "get_all"))[0] == 200
    assert raw_call(server, "GET", route(server, "get_all"), credentials=False)[0] == 401
    assert raw_call(server, "GET", route(server, "get_all"), token="wrong")[0] == 401
    assert raw_call(server, "POST", route(server, "set"), body={"presence": "online"}, token="wrong")[0] == 401
    assert server.own_presence is None


def test_waha_missing_or_wrong_api_key_get_401(make_server):
    server = make_server("waha")
    assert raw_call(server, "GET", route(server, "get_all"))[0] == 200
    assert raw_call(server, "GET", route(server, "get_all"), credentials=False)[0] == 401
    assert raw_call(server, "GET", route(server, "get_all"), api_key="wrong")[0] == 401


def test_waha_without_a_key_checks_none(make_server):
    server = make_server("waha", api_key=None)
    assert raw_call(server, "GET", route(server, "get_all"), credentials=False)[0] == 200


# ============================================================================== set rules


@pytest.mark.parametrize(
    "body",
    [
        {"presence": "online", "chatId": CHAT},
        {"presence": "offline", "chatId": CHAT},
        {"presence": "typing"},
        {"presence": "paused"},
    ],
)
@BOTH_BACKENDS
def test_set_rules_get_400(server, body):
    status, _, _ = raw_call(server, "POST", route(server, "set"), body=body)
    assert status == 400
    assert server.own_presence is None
    assert server.chat_states == {}


@BOTH_BACKENDS
def test_set_records_own_and_chat_states(server):
    assert raw_call(server, "POST", route(server, "set"), body={"presence": "online"})[0] // 100 == 2
    assert raw_call(server, "POST", route(server, "set"), body={"presence": "recording", "chatId": CHAT})[0] // 100 == 2
    assert server.own_presence == "online"
    assert server.chat_states == {CHAT: "recording"}


def test_wawp_typing_routes_record_states(make_server):
    server = make_server("wawp")
    assert raw_call(server, "POST", route(server, "start_typing"), query={"chatId": CHAT})[0] // 100 == 2
    assert server.chat_states[CHAT] == "typing"
    assert raw_call(server, "POST", route(server, "stop_typing"), query={"chatId": CHAT})[0] // 100 == 2
    assert server.chat_states[CHAT] == "paused"


# ============================================================================== reads


@BOTH_BACKENDS
def test_a_chat_read_with_get_is_listed_by_get_all(server):
    server.set_presence(CHAT, "online")
    assert raw_call(server, "GET", route(server, "get", CHAT2))[0] == 200
    listed = json.loads(raw_call(server, "GET", route(server, "get_all"))[2])
    assert CHAT2 in {item["id"] for item in listed}


def test_set_presence_replaces_a_participant_and_keeps_the_others(server):
    group = "120363041234567890@g.us"
    server.set_presence(group, "online", participant=CHAT)
    server.set_presence(group, "typing", participant=CHAT2)
    server.set_presence(group, "offline", 1700000000, participant=CHAT)
    answer = json.loads(raw_call(server, "GET", route(server, "get", group))[2])
    entries = {p["participant"]: p for p in answer["presences"]}
    assert set(entries) == {CHAT, CHAT2}
    assert entries[CHAT]["lastKnownPresence"] == "offline"
    assert entries[CHAT]["lastSeen"] == 1700000000
    assert entries[CHAT2]["lastKnownPresence"] == "typing"


def test_raw_words_are_served_as_given(server):
    server.set_presence(CHAT, "composing")
    answer = json.loads(raw_call(server, "GET", route(server, "get", CHAT))[2])
    assert answer["presences"][0]["lastKnownPresence"] == "composing"


def test_empty_reads(server):
    server.set_presence(CHAT, "online", empty_reads=2)
    answers = [json.loads(raw_call(server, "GET", route(server, "get", CHAT))[2]) for _ in range(3)]
    assert [len(a["presences"]) for a in answers] == [0, 0, 1]
    assert all(a["id"] == CHAT for a in answers)


@BOTH_BACKENDS
def test_webjs_engine_has_no_get_all(make_server, backend):
    server = make_server(backend, engine="WEBJS")
    status, _, body = raw_call(server, "GET", route(server, "get_all"))
    assert status == 422
    assert "not implemented" in body.decode().lower()


@BOTH_BACKENDS
def test_session_status(server):
    server.set_session_status("SCAN_QR_CODE")
    status, _, body = raw_call(server, "GET", route(server, "get", CHAT))
    assert status == 422
    assert json.loads(body)["status"] == "SCAN_QR_CODE"
    assert raw_call(server, "POST", route(server, "set"), body={"presence": "online"})[0] == 422


# ============================================================================== faults


def test_faults_apply_in_order_whatever_the_route(server):
    server.fail_next(status=500, body="first")
    server.fail_next(status=404, body={"message": "second"})
    first = raw_call(server, "POST", route(server, "set"), body={"presence": "online"})
    second = raw_call(server, "GET", route(server, "get", CHAT))
    third = raw_call(server, "GET", route(server, "get_all"))
    assert (first[0], first[2]) == (500, b"first")
    assert second[0] == 404 and json.loads(second[2]) == {"message": "second"}
    assert third[0] == 200
    assert server.own_presence is None  # the faulted set did not happen


def test_fault_times_and_headers(server):
    server.fail_next(status=429, retry_after=3, headers={"X-Extra": "yes"}, times=2)
    answers = [raw_call(server, "GET", route(server, "get_all")) for _ in range(3)]
    assert [a[0] for a in answers] == [429, 429, 200]
    assert answers[0][1].get("retry-after") == "3"
    assert answers[0][1].get("x-extra") == "yes"


def test_a_2xx_raw_body(server):
    server.fail_next(status=200, body={"data": {"id": CHAT, "presences": []}})
    status, _, body = raw_call(server, "GET", route(server, "get", CHAT))
    assert status == 200
    assert json.loads(body) == {"data": {"id": CHAT, "presences": []}}


def test_a_dropped_connection(server):
    server.fail_next(drop=True)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        raw_call(server, "GET", route(server, "get_all"))
    assert raw_call(server, "GET", route(server, "get_all"))[0] == 200


# ============================================================================== records


@BOTH_BACKENDS
def test_requests_are_recorded(server):
    raw_call(server, "POST", route(server, "set"), body={"presence": "typing", "chatId": CHAT})
    request = server.requests[-1]
    assert request["method"] == "POST"
    assert request["json"] == {"presence": "typing", "chatId": CHAT}
    assert json.loads(request["body"]) == request["json"]
    assert isinstance(request["headers"], dict)
    assert all(name == name.lower() for name in request["headers"])
    if server.backend == "wawp":
        assert request["path"] == "/v2/presence"
        assert request["query"].get("instance_id") in (server.instance_id, [server.instance_id])
    else:
        assert request["path"] == "/api/default/presence"
        assert request["headers"]["x-api-key"] == server.api_key
    server.clear_requests()
    assert server.requests == []


@BOTH_BACKENDS
def test_subscriptions_are_recorded(server):
    raw_call(server, "POST", route(server, "subscribe", CHAT))
    assert server.subscriptions == [CHAT]


def test_reset(server):
    server.set_presence(CHAT, "online")
    raw_call(server, "POST", route(server, "set"), body={"presence": "online"})
    raw_call(server, "POST", route(server, "subscribe", CHAT))
    server.fail_next(status=500, times=5)
    server.reset()
    assert server.own_presence is None
    assert server.subscriptions == []
    assert server.chat_states == {}
    assert raw_call(server, "GET", route(server, "get_all"))[0] == 200  # the faults are gone too
