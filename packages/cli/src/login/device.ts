import * as oidc from 'openid-client';
import { describeOAuthFailure } from './issuer.js';
import type { Tokens } from './loopback.js';

export interface DeviceLoginOptions {
  readonly config: oidc.Configuration;
  readonly scope: string | undefined;
  /** Aborts the polling (`--timeout`). */
  readonly signal: AbortSignal;
  /** Tells the person where to go and which code to enter. */
  readonly show: (start: oidc.DeviceAuthorizationResponse) => void;
}

/**
 * The device authorization grant (RFC 8628) by openid-client: the code is shown, then the token
 * endpoint is polled at the interval the service asks (slower after each `slow_down`) until the
 * user approves or denies it, the code expires, or the signal aborts.
 */
export async function loginWithDevice(options: DeviceLoginOptions): Promise<Tokens> {
  let start: oidc.DeviceAuthorizationResponse;
  try {
    start = await oidc.initiateDeviceAuthorization(
      options.config,
      options.scope === undefined ? {} : { scope: options.scope },
    );
  } catch (error) {
    throw new Error(`the device authorization request failed: ${describeOAuthFailure(error)}`);
  }
  options.show(start);
  try {
    return await oidc.pollDeviceAuthorizationGrant(options.config, start, undefined, {
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal.aborted) throw new Error('timed out');
    if (error instanceof oidc.ResponseBodyError && error.error === 'access_denied') {
      throw new Error('the sign-in was denied (access_denied)');
    }
    if (error instanceof oidc.ResponseBodyError && error.error === 'expired_token') {
      throw new Error('the code expired before it was approved (expired_token): run the command again');
    }
    throw new Error(`the token request failed: ${describeOAuthFailure(error)}`);
  }
}
