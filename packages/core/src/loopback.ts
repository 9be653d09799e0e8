const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Whether a host name is this machine's loopback: `localhost`, `127.0.0.1` or `::1` (bracketed,
 * as `URL.hostname` and a Host header give it, or bare, as a listen address is written). The one
 * list every "plain http only on loopback" rule checks against.
 */
export function isLoopbackHost(hostname: string): boolean {
  return loopbackHosts.has(hostname.toLowerCase());
}
