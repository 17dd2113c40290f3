"""The fake's real answers, and the client's requests, against WAHA's OpenAPI document.

wire.md: `specs/waha-presence.openapi.json` is the authority for the payload shapes, and Wawp's
bodies and responses have WAHA's shape. The fake is asked directly over HTTP (urllib), so what is
checked is what it really sends. Every lastSeen here is a number: the document types it as a
number only (servers also send null, which the client accepts; see test_client.py).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from presence_helpers import (
    BOTH_BACKENDS,
    CHAT,
    CHAT2,
    GROUP,
    contract_path,
    decoded_path,
    raw_call,
    route,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PARTS = ("specs", "waha-presence.openapi.json")
BASE_URI = "urn:waha-presence-openapi"


def load_document() -> dict:
    return json.loads(contract_path(*SPEC_PARTS).read_text(encoding="utf-8"))


DOCUMENT = load_document()
REGISTRY = Registry().with_resource(BASE_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


def absolute_refs(schema: Any) -> Any:
    """`schema` with its document-local `$ref`s made absolute, so they resolve in REGISTRY."""
    if isinstance(schema, dict):
        return {
            key: (
                BASE_URI + value
                if key == "$ref" and isinstance(value, str) and value.startswith("#")
                else absolute_refs(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [absolute_refs(item) for item in schema]
    return schema


def validator_for(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(absolute_refs(copy.deepcopy(schema)), registry=REGISTRY)


def response_schema(path: str, method: str, status: str = "200") -> dict:
    return DOCUMENT["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def request_schema(path: str, method: str) -> dict:
    return DOCUMENT["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def assert_valid(schema: dict, instance: Any) -> None:
    errors = sorted(validator_for(schema).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


ONE_CHAT = response_schema("/api/{session}/presence/{chatId}", "get")
ALL_CHATS = response_schema("/api/{session}/presence", "get")
SET_BODY = request_schema("/api/{session}/presence", "post")


# ============================================================================== the copy


def test_the_openapi_copy_has_the_presence_routes():
    # tests/contract/waha-presence.openapi.json is the copy the tests read (nothing outside the
    # repository is): it must hold the routes checked below.
    paths = json.loads(contract_path(*SPEC_PARTS).read_text(encoding="utf-8"))["paths"]
    assert {"/api/{session}/presence", "/api/{session}/presence/{chatId}"} <= set(paths)


def test_the_schemas_reject_what_they_should():
    # Guards the validation below: a broken answer really fails it.
    with pytest.raises(AssertionError):
        assert_valid(ONE_CHAT, {"id": CHAT})
    with pytest.raises(AssertionError):
        assert_valid(ONE_CHAT, {"id": CHAT, "presences": [{"participant": CHAT, "lastKnownPresence": "available"}]})
    with pytest.raises(AssertionError):
        assert_valid(ALL_CHATS, {"id": CHAT, "presences": []})
    with pytest.raises(AssertionError):
        assert_valid(SET_BODY, {"presence": "unknown"})


# ============================================================================== the fake's answers


def get_json(server, path: str) -> Any:
    status, headers, body = raw_call(server, "GET", path)
    assert status == 200, body
    assert headers.get("content-type", "").startswith("application/json")
    return json.loads(body)


@BOTH_BACKENDS
def test_one_chat_answer(server):
    server.set_presence(CHAT, "online", last_seen=1700000000)
    answer = get_json(server, route(server, "get", CHAT))
    assert_valid(ONE_CHAT, answer)
    assert answer["id"] == CHAT
    assert answer["presences"] == [{"participant": CHAT, "lastKnownPresence": "online", "lastSeen": 1700000000}]


@pytest.mark.parametrize("word", ["online", "offline", "typing", "recording", "paused"])
@BOTH_BACKENDS
def test_every_documented_word(server, word):
    server.set_presence(CHAT, word, last_seen=1686568773)
    assert_valid(ONE_CHAT, get_json(server, route(server, "get", CHAT)))


@BOTH_BACKENDS
def test_an_empty_first_answer(server):
    server.set_presence(CHAT, "online", last_seen=1700000000, empty_reads=1)
    answer = get_json(server, route(server, "get", CHAT))
    assert_valid(ONE_CHAT, answer)
    assert answer["presences"] == []


@BOTH_BACKENDS
def test_group_answer(server):
    members = {"447700900001@c.us": "online", "447700900002@c.us": "typing", "123456789012345@lid": "offline"}
    for n, (member, word) in enumerate(members.items()):
        server.set_presence(GROUP, word, last_seen=1700000000 + n, participant=member)
    answer = get_json(server, route(server, "get", GROUP))
    assert_valid(ONE_CHAT, answer)
    assert answer["id"] == GROUP
    assert {p["participant"]: p["lastKnownPresence"] for p in answer["presences"]} == members


@BOTH_BACKENDS
def test_get_all_answer(server):
    server.set_presence(CHAT, "online", last_seen=1700000000)
    server.set_presence(GROUP, "typing", last_seen=1700000001, participant=CHAT2)
    get_json(server, route(server, "get", CHAT))
    get_json(server, route(server, "get", GROUP))
    answer = get_json(server, route(server, "get_all"))
    assert_valid(ALL_CHATS, answer)
    assert {CHAT, GROUP} <= {item["id"] for item in answer}


@BOTH_BACKENDS
def test_get_all_answer_when_empty(server):
    answer = get_json(server, route(server, "get_all"))
    assert_valid(ALL_CHATS, answer)
    assert answer == []


@pytest.mark.parametrize(
    "body",
    [
        {"presence": "online"},
        {"presence": "offline"},
        {"presence": "typing", "chatId": CHAT},
        {"presence": "paused", "chatId": CHAT},
    ],
)
@BOTH_BACKENDS
def test_set_answer(server, body):
    assert_valid(SET_BODY, body)
    status, _, answer = raw_call(server, "POST", route(server, "set"), body=body)
    if server.backend == "waha":
        assert status == 201
        assert answer == b""
    else:
        assert 200 <= status < 300


@BOTH_BACKENDS
def test_subscribe_answer(server):
    status, _, answer = raw_call(server, "POST", route(server, "subscribe", CHAT))
    if server.backend == "waha":
        assert status == 201
        assert answer == b""
    else:
        assert 200 <= status < 300
    assert CHAT in server.subscriptions


# ============================================================================== the client's requests


def template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


@BOTH_BACKENDS
def test_client_requests_follow_the_document(api, server):
    server.set_presence(CHAT, "online", last_seen=1700000000)
    api.get(CHAT)
    for state, chat_id in [
        ("online", None),
        ("offline", None),
        ("typing", CHAT),
        ("recording", CHAT),
        ("paused", GROUP),
    ]:
        api.set(state, chat_id=chat_id)
    api.subscribe(CHAT)
    api.get_all()

    set_requests = [r for r in server.requests if r["method"] == "POST" and decoded_path(r) == route(server, "set")]
    assert len(set_requests) == 5
    for request in set_requests:
        assert_valid(SET_BODY, request["json"])
        assert request["headers"].get("content-type", "").startswith("application/json")

    if server.backend == "waha":
        templates = [
            (template_regex(path), method.upper()) for path, item in DOCUMENT["paths"].items() for method in item
        ]
        for request in server.requests:
            assert any(regex.match(request["path"]) and method == request["method"] for regex, method in templates), (
                f"{request['method']} {request['path']} is not a route of the document"
            )
