/**
 * Handles SIGINT and SIGTERM from the start of `ready` (a listen, a line saying the process is
 * ready) and resolves with the first one after it. A signal that came before the handler would
 * kill the process without its cleanup, and whoever reads the ready line may stop the process at
 * once; a signal during `ready` is kept and answered as soon as it is done. When `ready` fails,
 * the handlers go with it, so the failure's cleanup can still be interrupted.
 */
export async function announceThenWaitForSignal(ready: () => void | Promise<void>): Promise<NodeJS.Signals> {
  let stop: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stop = (signal) => {
      release();
      resolve(signal);
    };
  });
  const release = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await ready();
  } catch (error) {
    release();
    throw error;
  }
  return stopped;
}
