#!/usr/bin/env node
// A prescribing page that signs through NHS Credential Management's protocol, as NHS's browser library
// (nhs-credential-manager-prescription-signing) does it: five-port discovery, a classic SignalR connection
// with long polling (the real `signalr-no-jquery` client from npm), one `signingHub.requestToSign`.
// Against `rxsign demo`, which allowlists http://localhost:8740 for its Credential Management drop-in.
//
//   node examples/cm-page/serve.mjs [--port 8740]     then open http://localhost:8740/
//
// It serves this folder's index.html and page.js, and /signalr-client.js: signalr-no-jquery and its two
// dependencies wrapped in a minimal CommonJS loader (no bundler needed). Prints its URL on the first line.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8740' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('Usage: node examples/cm-page/serve.mjs [--port 8740] [--host 127.0.0.1]\n');
  process.exit(0);
}

/** signalr-no-jquery and what it requires, as one script that sets window.signalRNoJQuery. */
function signalrClient() {
  const require = createRequire(join(here, '..', '..', 'package.json'));
  const modules = new Map();
  const visit = (file) => {
    if (modules.has(file)) {
      return;
    }
    const source = readFileSync(file, 'utf8');
    const deps = {};
    modules.set(file, { source, deps });
    for (const m of source.matchAll(/require\((['"])([^'"]+)\1\)/g)) {
      const resolved = createRequire(file).resolve(m[2]);
      deps[m[2]] = resolved;
      visit(resolved);
    }
  };
  const entry = require.resolve('signalr-no-jquery');
  visit(entry);
  const ids = new Map([...modules.keys()].map((f, i) => [f, i]));
  const defs = [...modules].map(
    ([file, { source, deps }]) =>
      `defs[${ids.get(file)}] = [function (module, exports, require) {\n${source}\n}, ${JSON.stringify(
        Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, ids.get(v)])),
      )}];`,
  );
  return `(function () {
var defs = {}, cache = {};
function load(id) {
  if (cache[id]) return cache[id].exports;
  var m = (cache[id] = { exports: {} });
  defs[id][0].call(m.exports, m, m.exports, function (name) { return load(defs[id][1][name]); });
  return m.exports;
}
${defs.join('\n')}
window.signalRNoJQuery = load(${ids.get(entry)});
})();\n`;
}

const client = signalrClient();
const files = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/page.js': ['page.js', 'text/javascript; charset=utf-8'],
};
const handler = (req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/signalr-client.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    res.end(client);
    return;
  }
  const f = files[path];
  if (!f) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': f[1] });
  res.end(readFileSync(join(here, f[0])));
};

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

// The page's origin is http://localhost:PORT, which the agent allowlists, and a browser may resolve localhost
// to ::1 or to 127.0.0.1: the page holds the port on both, so that another user on the machine cannot serve
// their own page on the other address under the same, allowlisted origin (as the agent does for its own port).
const servers = [];
async function start() {
  const v4 = createServer(handler);
  const port = await listen(v4, Number(values.port), values.host);
  servers.push(v4);
  if (values.host === '127.0.0.1') {
    const v6 = createServer(handler);
    try {
      await listen(v6, port, '::1');
      servers.push(v6);
    } catch (err) {
      if (err.code !== 'EADDRNOTAVAIL' && err.code !== 'EAFNOSUPPORT') {
        throw Object.assign(new Error(`[::1]:${port} is taken by another program`), {
          code: err.code,
        });
      }
    }
  }
  return port;
}

start().then(
  (port) => process.stdout.write(`http://localhost:${port}/\n`),
  (err) => {
    process.stderr.write(`cm-page: cannot listen: ${err.message} (${err.code ?? 'error'})\n`);
    process.exit(2);
  },
);
for (const s of ['SIGINT', 'SIGTERM']) {
  process.on(s, () =>
    Promise.all(servers.map((x) => new Promise((r) => x.close(r)))).then(() => process.exit(0)),
  );
}
