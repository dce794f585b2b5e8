/**
 * Node's flags for a process whose job is to be the agent: a per-user agent that stays resident should stay
 * small, and V8 sizes its heap when the process starts, so they are given on the command line:
 * bin/rxsign.js's first line, scripts/demo.sh, the systemd unit `rxsign service install` writes, the
 * Dockerfile and the benchmark's agent pass these (test/packaging.test.ts keeps them equal).
 * - `--max-semi-space-size=4`: a young generation of 2 x 4 MB instead of 2 x 16 MB;
 * - `--max-old-space-size=256`: under a smaller cap V8 grows the old generation slowly (the agent's live data
 *   is about 20 MB); 256 MB still holds three 70 MiB verification batches at once.
 * Measured by `npm run bench` (section service: resident memory over 100,000 signatures).
 */
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--max-old-space-size=256',
];
