import { isIP } from 'node:net';

/**
 * Whether `value` names proxies a service may believe `X-Forwarded-For` from: one IP address
 * (`10.0.0.7`, `::1`) or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). Names such as `loopback`
 * and netmask forms are refused, so a trust list says exactly which peers it trusts. The one check
 * behind the token service's and the gateway's `trustProxy`.
 */
export function isTrustedProxyEntry(value: string): boolean {
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const bits = value.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
