/** How a long-running command (rxsign serve, demo, spine-sim, cis2-sim) waits to be stopped. */

/**
 * Resolves on SIGINT or SIGTERM, or when `signal` aborts (tests); then stops listening for all of them.
 *
 * @example
 * ```ts
 * await untilStopped();
 * await server.close();
 * ```
 */
export function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (signal?.aborted === true) {
      stop();
      return;
    }
    signal?.addEventListener('abort', stop, { once: true });
  });
}
