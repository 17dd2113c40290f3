"""wawp_presence.testing.FakeServer and its pytest plugin, as a user of the package would rely on them.

Asked directly over HTTP with urllib, so these tests do not depend on the client under test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
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


@pytest.mark.parametrize("waha_server", [{"edition": "core", "session_wait": 0.2}], indirect=True)
def test_the_plugin_fixtures_take_options(waha_server):
    assert (waha_server.edition, waha_server.session_wait) == ("core", 0.2)
    assert raw_call(waha_server, "POST", route(waha_server, "subscribe", CHAT))[0] == 422


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


# ============================================================================== WAHA editions and session states
# The exact answers are checked row by row in test_waha_real_answers.py; here, the options.


def test_edition_and_session_options_default_to_a_fast_waha_plus(make_server):
    server = make_server("waha")
    assert server.edition == "plus"
    assert server.session_wait == pytest.approx(0.05)
    assert server.session_status == "WORKING"
    assert "edition='plus'" in repr(server) or 'edition="plus"' in repr(server)
    core = make_server("waha", edition="core", session_wait=5.0)
    assert (core.edition, core.session_wait) == ("core", 5.0)
    assert make_server("wawp").edition == "plus"


@pytest.mark.parametrize(
    "options",
    [
        {"edition": "enterprise"},
        {"session_wait": -1.0},
        {"session_wait": float("nan")},
        {"session_wait": float("inf")},
    ],
)
def test_bad_edition_or_session_wait_is_a_value_error(options):
    with pytest.raises(ValueError):
        FakeServer("waha", **options)


def test_core_is_a_waha_edition_only():
    with pytest.raises(ValueError, match="waha"):
        FakeServer("wawp", edition="core")


def test_session_statuses_are_waha_words(make_server):
    server = make_server("waha")
    for status in ("STOPPED", "STARTING", "SCAN_QR_CODE", "FAILED", "WORKING"):
        server.set_session_status(status)
        assert server.session_status == status
    server.set_session_status("scan_qr_code")
    assert server.session_status == "SCAN_QR_CODE"
    with pytest.raises(ValueError, match="STOPPED"):
        server.set_session_status("WORKNG")
    assert server.session_status == "SCAN_QR_CODE", "a refused word changes nothing"


@BOTH_BACKENDS
def test_reset_sets_the_session_working_again(make_server, backend):
    server = make_server(backend)
    server.set_session_status("FAILED")
    assert raw_call(server, "GET", route(server, "get_all"))[0] == 422
    server.reset()
    assert server.session_status == "WORKING"
    assert raw_call(server, "GET", route(server, "get_all"))[0] == 200


def test_a_stopped_waha_session_is_404_and_wawp_422(make_server):
    waha = make_server("waha")
    waha.set_session_status("STOPPED")
    status, headers, body = raw_call(waha, "GET", route(waha, "get", CHAT))
    assert status == 404
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert "Please start it first" in json.loads(body)["message"]
    wawp = make_server("wawp")
    wawp.set_session_status("STOPPED")
    status, _, body = raw_call(wawp, "GET", route(wawp, "get", CHAT))
    assert status == 422 and json.loads(body)["status"] == "STOPPED"


def test_a_session_not_working_waits_session_wait_then_answers(make_server):
    server = make_server("waha", session_wait=0.4)
    server.set_session_status("STARTING")
    # perf_counter: on Windows before Python 3.13, time.monotonic moves in 15.6 ms steps.
    started = time.perf_counter()
    status, _, body = raw_call(server, "GET", route(server, "get", CHAT))
    assert time.perf_counter() - started >= 0.4
    assert status == 422 and json.loads(body)["status"] == "STARTING"


def test_a_request_waiting_for_the_session_is_served_once_it_works(make_server):
    server = make_server("waha", session_wait=30.0)
    server.set_presence(CHAT, "online")
    server.set_session_status("SCAN_QR_CODE")
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(raw_call(server, "GET", route(server, "get", CHAT))))
    started = time.monotonic()
    waiting.start()
    time.sleep(0.3)
    assert answers == [], "still waiting for WORKING"
    server.set_session_status("WORKING")
    waiting.join(timeout=10)
    assert answers and answers[0][0] == 200
    assert json.loads(answers[0][2])["presences"][0]["lastKnownPresence"] == "online"
    assert time.monotonic() - started < 10


def test_core_refuses_other_sessions_and_subscribe(make_server):
    server = make_server("waha", edition="core")
    other = route(server, "get_all").replace("/default/", "/other/")
    status, _, body = raw_call(server, "GET", other)
    assert status == 422 and "only 'default' session" in json.loads(body)["message"]
    status, _, body = raw_call(server, "POST", route(server, "subscribe", CHAT))
    assert status == 422 and json.loads(body)["message"] == "The method is not implemented by the engine."
    assert server.subscriptions == []
    assert raw_call(server, "GET", route(server, "get", CHAT))[0] == 200


def test_plus_answers_404_for_a_session_it_does_not_run(make_server):
    server = make_server("waha")
    other = route(server, "get_all").replace("/default/", "/other/")
    status, _, body = raw_call(server, "GET", other)
    assert status == 404
    assert json.loads(body)["message"].startswith("We didn't find a session with name 'other'.\nPlease start it")


def test_the_session_route_reports_the_status(make_server):
    server = make_server("waha")
    server.set_session_status("SCAN_QR_CODE")
    status, _, body = raw_call(server, "GET", "/api/sessions/default")
    assert status == 200
    assert json.loads(body)["name"] == "default" and json.loads(body)["status"] == "SCAN_QR_CODE"
    assert raw_call(server, "GET", "/api/sessions/other")[0] == 404


def test_the_standalone_fake_takes_edition_and_session_wait():
    args = [sys.executable, "-m", "wawp_presence.testing", "--backend", "waha", "--port", "0"]
    proc = subprocess.Popen([*args, "--edition", "core", "--session-wait", "0.2"], stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        assert "edition=core" in proc.stdout.readline()
        url = match.group(1)
        request = urllib.request.Request(f"{url}/api/default/presence/{CHAT}/subscribe", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 422
        assert json.loads(refused.value.read())["message"] == "The method is not implemented by the engine."
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
    for wrong in (["--edition", "core"], ["--session-wait", "-1"]):
        done = subprocess.run(
            [sys.executable, "-m", "wawp_presence.testing", "--backend", "wawp", "--port", "0", *wrong],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
