#!/usr/bin/env bash
# The main job: sets up, creates the SoftHSM demo card, and runs the agent beside the built-in Spine
# Security Broker simulator (see README). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
conf=$(node softhsm/setup.mjs)
export SOFTHSM2_CONF="$conf"
# the agent's Node flags (src/node-flags.ts)
exec node --max-semi-space-size=4 --max-old-space-size=256 bin/rxsign.js demo "$@"
