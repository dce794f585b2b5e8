#!/usr/bin/env bash
# The one test command (README, CI): sets up what is missing, then typecheck, lint and every test
# (unit and SoftHSM integration, vector conformance, browser) in one vitest run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: typecheck"
npx tsc -p tsconfig.json --noEmit
echo "test: lint"
npx eslint . --max-warnings=0
echo "test: format"
npx prettier --check . --log-level=warn
echo "test: vitest"
npx vitest run "$@"
