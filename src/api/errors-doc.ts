/**
 * Renders docs/errors.md from the error registry (Code | Status | Meaning | How to fix), so that the docs
 * and the code cannot drift: test/api/errors-doc.test.ts compares the file with this output.
 * Regenerate with `npm run docs:errors`.
 */
import { ERROR_REGISTRY, errorSpec } from './error-registry.js';
import { TICKET_API } from '../auth/index.js';

export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    'Every error rxsign returns (HTTP body `{ code, message }`, CLI line `rxsign: <message> [<code>]`) has one of',
    'these stable codes. Ticket API errors also carry the CIS Ticket API name and value (`ticketApi`).',
    'Generated from `src/api/error-registry.ts` by `npm run docs:errors`; a test keeps it in step.',
    '',
    '| Code | HTTP | Meaning | How to fix |',
    '|---|---|---|---|',
  ];
  for (const code of Object.keys(ERROR_REGISTRY).sort()) {
    const spec = errorSpec(code);
    if (!spec) {
      continue;
    }
    const t = TICKET_API[code];
    const meaning = `${spec.message}${t ? ` (Ticket API ${t.name} ${t.value})` : ''}`;
    lines.push(
      `| \`${code}\` | ${spec.status} | ${meaning.replace(/\|/g, '\\|')} | ${spec.fix.replace(/\|/g, '\\|')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
