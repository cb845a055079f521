#!/usr/bin/env bash
# meeting-vault developer entry point. Needs only Python >= 3.11 (and Node.js for `synth`/deploy).
#   ./dev.sh demo      run the sample meeting through the local pipeline (installs what it needs)
#   ./dev.sh test      lint, type-check and run every test (what CI runs)
#   ./dev.sh dev       run the local pipeline until Ctrl-C (same options as `meeting-vault dev`)
#   ./dev.sh bench     run the benchmarks in bench/
#   ./dev.sh synth     synthesize the CDK app (needs Node.js; `npx aws-cdk` for deploy)
#   ./dev.sh setup     only install (.tools/ holds uv, .venv/ the project)
set -euo pipefail
cd "$(dirname "$0")"

UV_VERSION="0.13.9"
PYTHON="${PYTHON:-python3}"
export UV_PYTHON_DOWNLOADS=never UV_PYTHON="$PYTHON"

setup() {
  if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    "$PYTHON" -m venv .tools
    .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  .tools/bin/uv sync --frozen --extra cli --quiet
}

run() { .tools/bin/uv run --frozen --extra cli --no-sync "$@"; }

cmd="${1:-help}"
shift || true
case "$cmd" in
  setup) setup ;;
  demo) setup; run meeting-vault demo "$@" ;;
  dev) setup; run meeting-vault dev "$@" ;;
  lint)
    setup
    run ruff check .
    run ruff format --check .
    run mypy
    ;;
  test)
    setup
    run ruff check .
    run ruff format --check .
    run mypy
    run pytest -n 2 --dist loadfile --durations=25 "$@"
    ;;
  bench) setup; run python -m bench.startup; run python -m bench.ingest "$@" ;;
  synth) setup; run python -m infra.app ;;
  *) sed -n '2,9p' "$0"; [ "$cmd" = help ] ;;
esac
