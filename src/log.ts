/**
 * The service's logger (pino), with secrets redacted by path.
 *
 * PINs, tickets, tokens, keys and cookies never appear in a log line: the redact paths below cover the
 * field names the code uses for them, and the request serializer keeps only method, url (without its query,
 * which can carry a Spine token) and the remote address.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'pin',
  '*.pin',
  'soPin',
  '*.soPin',
  'ticket',
  '*.ticket',
  'token',
  '*.token',
  'sso_ticket',
  '*.sso_ticket',
  'privateKey',
  '*.privateKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-rxsign-key"]',
  'req.headers["x-rxsign-pin"]',
  'headers["x-rxsign-pin"]',
];

/**
 * Creates a logger. `destination` lets tests capture every line.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: 'info' });
 * log.info({ token: 'secret' }, 'login'); // token: "[redacted]"
 * ```
 */
export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: DestinationStream,
): Logger {
  const opts = {
    level: options.level ?? 'info',
    name: options.name ?? 'rxsign',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string; socket?: { remoteAddress?: string } }) => ({
        method: req.method,
        url: typeof req.url === 'string' ? req.url.split('?')[0] : undefined,
        remoteAddress: req.socket?.remoteAddress,
      }),
      err: pino.stdSerializers.err,
    },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that writes nothing (library default). */
export const silentLogger: Logger = pino({ level: 'silent' });
