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
    'Every error rxsign returns has one of these stable codes. Over HTTP the body is an RFC 9457 problem',
    '(`application/problem+json`): `type` is `/errors#<code>` — a relative reference that, resolved against the',
    'agent, is this list (the agent serves it at `GET /errors`) at the code’s anchor — `title` is the message',
    'below, `status` the HTTP status, `detail` how to fix it, `code` the code; Ticket API errors also carry the',
    'CIS Ticket API name and value (`ticketApi: { name, value }`), and invalid requests the wrong fields',
    '(`issues: [{ path, message }]`). Programs should test `code`. The CLI prints `rxsign: <message> [<code>]`.',
    'Generated from `src/api/error-registry.ts` by `npm run docs:errors`; a test keeps it in step.',
    '',
  ];
  const rows: string[][] = [['Code', 'HTTP', 'Meaning', 'How to fix']];
  for (const code of Object.keys(ERROR_REGISTRY).sort()) {
    const spec = errorSpec(code);
    if (!spec) {
      continue;
    }
    const t = TICKET_API[code];
    const meaning = `${spec.message}${t ? ` (Ticket API ${t.name} ${t.value})` : ''}`;
    rows.push([
      `<a id="${code}"></a>\`${code}\``,
      String(spec.status),
      meaning.replace(/\|/g, '\\|'),
      spec.fix.replace(/\|/g, '\\|'),
    ]);
  }
  // Columns padded as prettier writes a markdown table, so that `prettier --check` and this output agree.
  const widths = [0, 1, 2, 3].map((i) => Math.max(3, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - [...c].length)).join(' | ')} |`;
  const [head, ...body] = rows;
  lines.push(line(head ?? []), line(widths.map((w) => '-'.repeat(w))), ...body.map(line));
  return `${lines.join('\n')}\n`;
}
