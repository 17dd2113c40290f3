#!/usr/bin/env bash
# Runs every gate and every test: formatting, layout and lints (rustfmt, ruff, clippy), the Rust
# core and fake server with `cargo test`, then the release wheel, built once and installed into a
# fresh virtual environment the way users install it, its types (mypy --strict, stubtest), and
# pytest against that installed wheel, over real HTTP on 127.0.0.1. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
# Two environments: the tools (maturin, ruff; kept between runs), and the one the tests run in,
# made afresh each run with the test extra and then the built wheel, as a user installs it.
tools=${VENV:-.venv}
testenv=target/test-venv
[ -x "$tools/bin/python" ] || "$python" -m venv "$tools"
# The linters are pinned, so a new release's new rules arrive by a change here, not by breaking CI.
"$tools/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.8,<2" "ruff==0.17.6" \
    "tomli>=2; python_version < '3.11'"
# The test tools are the `test` extra of pyproject.toml (one list). They are installed while cargo
# compiles: pip mostly waits on the network, cargo on the CPU.
read -ra test_deps <<<"$("$tools/bin/python" -c '
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))
')"
mkdir -p target
rm -rf "$testenv"
("$python" -m venv "$testenv" &&
    "$testenv/bin/python" -m pip install -q --disable-pip-version-check "${test_deps[@]}" "mypy==2.4.1") \
    >target/test-venv.log 2>&1 &
testenv_job=$!

step() { echo "== $1 (at ${SECONDS}s)"; }

step "formatting and layout"
cargo fmt --check
"$tools/bin/ruff" format --check .
"$tools/bin/ruff" check .
"$tools/bin/python" scripts/check_layout.py

step "clippy"
cargo clippy --locked --all-targets --all-features -- -D warnings

step "cargo test"
# The library's tests only: the crate has no doctests, and building for them would compile the
# crate a second time and link the cdylib.
cargo test --locked --features fake --lib

# One wheel, built once: the abi3 release wheel a user would install (stripped, see Cargo.toml).
step "building the wheel"
rm -rf target/wheels
"$tools/bin/maturin" build --release --locked --quiet --out target/wheels
wheel=$(ls target/wheels/*.whl)

step "installing it into a fresh environment"
if ! wait "$testenv_job"; then
    cat target/test-venv.log >&2
    exit 1
fi
"$testenv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel"

step "mypy and stubtest"
"$testenv/bin/python" -m mypy --strict
"$testenv/bin/python" -m mypy.stubtest wawp_presence --mypy-config-file pyproject.toml --allowlist stubtest-allowlist.txt

step "pytest"
# Against the installed wheel (the source tree is not on the path: the package lives in python/).
# Four workers on two cores: most of the suite's time is waiting on timers, servers and child
# processes, not the CPU.
status=0
WAWP_PRESENCE_WHEEL="$wheel" "$testenv/bin/python" -m pytest -p no:cacheprovider -n 4 "$@" || status=$?
echo "== done (at ${SECONDS}s)"
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"
