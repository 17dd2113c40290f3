"""The package ships type information: py.typed, and a stub that names every public name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from presence_helpers import PACKAGE_SOURCE_DIR

import wawp_presence

STUB = Path(__file__).parent.parent / "python" / "wawp_presence" / "__init__.pyi"

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


def stub_tree() -> ast.Module:
    assert STUB.exists(), f"missing stub {STUB}"
    return ast.parse(STUB.read_text(encoding="utf-8"), filename=str(STUB))


def top_level_statements(body: list[ast.stmt]):
    """Statements of a module body, looking into `if` and `try` blocks (e.g. `if sys.version_info`)."""
    for node in body:
        if isinstance(node, ast.If):
            yield from top_level_statements(node.body)
            yield from top_level_statements(node.orelse)
        elif isinstance(node, ast.Try):
            yield from top_level_statements(node.body)
            for handler in node.handlers:
                yield from top_level_statements(handler.body)
        else:
            yield node


def defined_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in top_level_statements(body):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif hasattr(ast, "TypeAlias") and isinstance(node, ast.TypeAlias):
            names.add(node.name.id)
    return names


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def module_file(near: Path, module: str | None, level: int) -> Path:
    """The stub (or Python source) of a relative import made in the file `near`."""
    base = near.parent
    for _ in range(level - 1):
        base = base.parent
    parts = module.split(".") if module else []
    target = base.joinpath(*parts)
    for candidate in (
        target.with_suffix(".pyi"),
        target / "__init__.pyi",
        target.with_suffix(".py"),
        target / "__init__.py",
    ):
        if candidate.is_file():
            return candidate
    raise AssertionError(f"{near.name} imports .{module or ''} but no stub or source of it was found")


def find_class(name: str, path: Path = STUB, depth: int = 0) -> ast.ClassDef:
    """The class `name` as the stub declares it, following the stub's relative re-exports."""
    assert depth < 5, f"re-export chain too long for {name}"
    tree = stub_tree() if path == STUB else parse(path)
    for node in top_level_statements(tree.body):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    for node in top_level_statements(tree.body):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return find_class(alias.name, module_file(path, node.module, node.level), depth + 1)
    raise AssertionError(f"{name} is not declared in {path.name}")


def base_names(node: ast.ClassDef) -> set[str]:
    names = set()
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.add(base.id)
        elif isinstance(base, ast.Attribute):
            names.add(base.attr)
    return names


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


def test_every_public_name_is_in_the_stub():
    names = defined_names(stub_tree().body)
    missing = [name for name in wawp_presence.__all__ if name not in names]
    assert not missing, f"names of __all__ missing from __init__.pyi: {missing}"


@pytest.mark.parametrize("cls", ["PresenceClient", "AsyncPresenceClient"])
def test_stub_clients_have_every_method(cls):
    node = find_class(cls)
    members = defined_names(node.body)
    missing = [name for name in CLIENT_METHODS if name not in members]
    assert not missing, f"{cls} stub lacks {missing}"
    context = {"__enter__", "__exit__"} if cls == "PresenceClient" else {"__aenter__", "__aexit__"}
    assert context <= members


@pytest.mark.parametrize(
    "cls, fields",
    [
        ("ParticipantPresence", ["participant", "last_known_presence", "last_seen", "to_dict"]),
        ("ChatPresence", ["id", "presences", "is_group", "has_data", "is_online", "last_seen", "to_dict"]),
        ("PresenceState", ["ONLINE", "OFFLINE", "TYPING", "RECORDING", "PAUSED", "UNKNOWN"]),
        ("PresenceEvent", ["id", "timestamp", "session", "engine", "chat", "to_dict"]),
    ],
)
def test_stub_models_have_their_fields(cls, fields):
    members = defined_names(find_class(cls).body)
    missing = [name for name in fields if name not in members]
    assert not missing, f"{cls} stub lacks {missing}"


@pytest.mark.parametrize("cls, bases", sorted(ERROR_BASES.items()))
def test_stub_errors_have_their_bases(cls, bases):
    node = find_class(cls)
    assert bases <= base_names(node), f"{cls} stub bases {base_names(node)} lack {bases - base_names(node)}"
