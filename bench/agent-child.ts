// The agent alone in its own process, for the service benchmark (bench/service.ts): the configuration comes
// from the environment (src/config.ts), it listens on a free loopback port, prints one line `url <url>` when
// ready, and closes on SIGTERM. bench/service.ts starts it with the agent's Node flags (src/agent.ts
// AGENT_NODE_FLAGS), as `rxsign serve` is started. Its resident memory is what the benchmark samples.
import pino from 'pino';
import { startAgent } from '../src/agent.js';
import { loadConfig } from '../src/config.js';

const running = await startAgent({
  config: loadConfig(),
  logger: pino({ level: 'silent' }),
  listenPort: 0,
});
process.stdout.write(`url ${running.url}\n`);
process.once('SIGTERM', () => {
  void running.close().then(() => process.exit(0));
});
