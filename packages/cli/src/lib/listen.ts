/** Why a part could not take its address, naming the part and the flag that moves it. */
function listenFailure(part: string, flag: string, address: string, error: NodeJS.ErrnoException): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new Error(
        `${part} cannot listen on ${address}: the port is taken (choose another with ${flag})`,
      );
    case 'EACCES':
      return new Error(
        `${part} cannot listen on ${address}: permission denied (choose a port above 1023 with ${flag})`,
      );
    case 'EADDRNOTAVAIL':
      return new Error(`${part} cannot listen on ${address}: no such address on this machine`);
    default:
      return error;
  }
}

/** Runs a part's `listen`, turning a taken or forbidden port into one line a person can act on. */
export async function listenAs<T>(
  part: string,
  flag: string,
  host: string,
  port: number,
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    throw listenFailure(part, flag, `${host}:${port}`, error as NodeJS.ErrnoException);
  }
}
