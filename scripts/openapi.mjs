// Writes docs/openapi.json from the route tables (npm run docs:openapi; needs a build).
// test/api/openapi.test.ts fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { agentApiDocument } from '../dist/src/api/routers.js';
import { VERSION } from '../dist/src/version.js';

const out = new URL('../docs/openapi.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(agentApiDocument(VERSION), null, 2)}\n`);
console.log(`wrote ${out.pathname}`);
