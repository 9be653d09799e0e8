/** Resolves with the first SIGINT or SIGTERM, then stops listening, so a server can close cleanly. */
function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Says that the process is ready (`announce`) only once SIGINT and SIGTERM are handled, then waits
 * for one: whoever reads the line may stop the process at once, and a signal that came before the
 * handler would kill it without its cleanup.
 */
export function announceThenWaitForSignal(announce: () => void): Promise<NodeJS.Signals> {
  const stopped = waitForSignal();
  announce();
  return stopped;
}
