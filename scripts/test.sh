#!/usr/bin/env bash
# Runs every gate and every test: formatting, layout and lints (rustfmt, ruff, clippy), the Rust
# core and fake server with `cargo test`, then the Python package, built and installed into a
# virtual environment the way users install it, its types (mypy --strict, stubtest), and pytest
# over real HTTP on 127.0.0.1. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# The test tools are the `test` extra of pyproject.toml (one list); the linters are pinned, so a
# new release's new rules arrive by a change here, not by breaking CI.
test_deps=$("$venv/bin/python" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))')
# shellcheck disable=SC2086 # one word per requirement
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.8,<2" $test_deps "ruff==0.17.6" "mypy==2.4.1"

step() { echo "== $1 (at ${SECONDS}s)"; }

step "formatting and layout"
cargo fmt --check
"$venv/bin/ruff" format --check .
"$venv/bin/ruff" check .
"$venv/bin/python" scripts/check_layout.py

step "clippy"
cargo clippy --locked --all-targets --all-features -- -D warnings

step "cargo test"
cargo test --locked --features fake

# The package under test is built in the same (dev) profile, so it reuses the dependencies the
# Rust tests just compiled instead of compiling all of them again with optimisations: what the
# tests check is behaviour, and bench/ measures speed on a normal `pip install .`.
step "building and installing the package"
rm -rf target/wheels
"$venv/bin/maturin" build --locked --profile dev --quiet
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheels/*.whl

step "mypy and stubtest"
"$venv/bin/python" -m mypy --strict
"$venv/bin/python" -m mypy.stubtest wawp_presence --mypy-config-file pyproject.toml --allowlist stubtest-allowlist.txt

step "pytest"
# Two workers: most of the suite's time is waiting on timers and servers, not the CPU.
status=0
"$venv/bin/python" -m pytest -p no:cacheprovider -n 2 "$@" || status=$?
echo "== done (at ${SECONDS}s)"
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"
