"""The public names of the contract exist, and the package ships its type information (py.typed and
the stubs, which stubtest holds to the runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest
from presence_helpers import PACKAGE_SOURCE_DIR

import wawp_presence

# The public names this round's contract needs at the top level (python-api.md).
CONTRACT_NAMES = [
    "PresenceClient",
    "AsyncPresenceClient",
    "PresenceState",
    "ParticipantPresence",
    "ChatPresence",
    "WawpError",
    "TransportError",
    "RequestTimeout",
    "ProtocolError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "SessionNotReadyError",
    "NotSupportedError",
    "RateLimitError",
    "ServerError",
    "InvalidChatIdError",
    "ConfigurationError",
    "PresenceEvent",
    "parse_event",
    "verify_signature",
    "InvalidSignatureError",
]

CLIENT_METHODS = ["get", "set", "subscribe", "get_all", "get_many", "typing", "close", "waha", "from_env"]

ERROR_BASES = {
    "TransportError": {"WawpError", "ConnectionError"},
    "RequestTimeout": {"WawpError", "TimeoutError"},
    "ProtocolError": {"WawpError"},
    "APIError": {"WawpError"},
    "BadRequestError": {"APIError", "ValueError"},
    "AuthenticationError": {"APIError"},
    "PermissionDeniedError": {"APIError"},
    "NotFoundError": {"APIError"},
    "SessionNotReadyError": {"APIError"},
    "NotSupportedError": {"APIError"},
    "RateLimitError": {"APIError"},
    "ServerError": {"APIError"},
    "InvalidChatIdError": {"WawpError", "ValueError"},
    "ConfigurationError": {"WawpError", "ValueError"},
    "InvalidSignatureError": {"WawpError", "ValueError"},
    "InvalidEventError": {"WawpError", "ValueError"},
}


def test_py_typed_is_in_the_source_package():
    assert (PACKAGE_SOURCE_DIR / "py.typed").is_file()


def test_py_typed_is_installed_with_the_package():
    assert (Path(wawp_presence.__file__).parent / "py.typed").is_file()


def test_all_holds_the_contract_names():
    public = set(wawp_presence.__all__)
    missing = [name for name in CONTRACT_NAMES if name not in public]
    assert not missing, f"not in wawp_presence.__all__: {missing}"


def test_every_name_in_all_exists():
    missing = [name for name in wawp_presence.__all__ if not hasattr(wawp_presence, name)]
    assert not missing


def test_the_stubs_are_installed_with_the_package():
    # That they match the runtime, name by name and signature by signature, is stubtest's check
    # (a gate in scripts/test.sh); this one is that a user's type checker finds them.
    installed = Path(wawp_presence.__file__).parent
    assert (installed / "__init__.pyi").is_file() and (installed / "_native.pyi").is_file()


@pytest.mark.parametrize("cls", ["PresenceClient", "AsyncPresenceClient"])
def test_clients_have_every_contract_method(cls):
    client = getattr(wawp_presence, cls)
    context = ["__enter__", "__exit__"] if cls == "PresenceClient" else ["__aenter__", "__aexit__"]
    missing = [name for name in [*CLIENT_METHODS, *context] if not callable(getattr(client, name, None))]
    assert not missing, f"{cls} lacks {missing}"


@pytest.mark.parametrize(
    "cls, fields",
    [
        ("ParticipantPresence", ["participant", "last_known_presence", "last_seen", "to_dict"]),
        ("ChatPresence", ["id", "presences", "is_group", "has_data", "is_online", "last_seen", "to_dict"]),
        ("PresenceState", ["ONLINE", "OFFLINE", "TYPING", "RECORDING", "PAUSED", "UNKNOWN"]),
        ("PresenceEvent", ["id", "timestamp", "session", "engine", "chat", "to_dict"]),
    ],
)
def test_models_have_their_fields(cls, fields):
    missing = [name for name in fields if not hasattr(getattr(wawp_presence, cls), name)]
    assert not missing, f"{cls} lacks {missing}"


@pytest.mark.parametrize("cls, bases", sorted(ERROR_BASES.items()))
def test_errors_have_their_bases(cls, bases):
    import builtins

    error = getattr(wawp_presence, cls)
    for base in bases:
        expected = getattr(wawp_presence, base, None) or getattr(builtins, base)
        assert issubclass(error, expected), f"{cls} is not a {base}"
