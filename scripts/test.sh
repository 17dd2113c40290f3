#!/usr/bin/env bash
# Runs every test: the Rust core and fake server with `cargo test`, then the Python package,
# built and installed into a virtual environment the way users install it, with pytest over
# real HTTP on 127.0.0.1. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "maturin>=1.8,<2" "pytest>=8" "pytest-asyncio>=0.24" "jsonschema>=4" "hypothesis>=6.100" "anyio>=4"

echo "== cargo test"
cargo test --locked

echo "== building and installing the package"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .

echo "== pytest"
status=0
"$venv/bin/python" -m pytest -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"
