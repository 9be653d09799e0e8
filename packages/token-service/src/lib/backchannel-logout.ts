import { randomBytes } from 'node:crypto';
import { type KeySet, OutboundError, outboundRequest } from '@tessera/core';
import type { FastifyBaseLogger } from 'fastify';
import type { Counter } from 'prom-client';
import type { Client } from '../store/client.js';
import type { GrantHolder } from '../store/grants.js';
import { signWithActiveKey } from './id-token.js';

// OpenID Connect Back-Channel Logout 1.0, the sending side: when an SSO session (or every session
// of a user) ends here, each client holding a grant of it that registered a backchannel_logout_uri
// gets a Logout Token (section 2.4) POSTed to that URI (section 2.5). Deliveries run in the
// background: a client that is down, slow or answers an error never fails or delays the logout.

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Seconds a Logout Token is valid for (section 2.4 recommends a short lifetime). */
export const LOGOUT_TOKEN_LIFETIME = 120;

export interface BackchannelLogoutOptions {
  readonly issuer: string;
  /** The service's current keys (re-read on every delivery: rotation reaches the logout tokens too). */
  readonly keys: () => KeySet;
  readonly findClient: (clientId: string) => Promise<Client | undefined>;
  readonly log: FastifyBaseLogger;
  /** Counts deliveries by `result`: `ok` (a 2xx answer) or `failed`. */
  readonly counter: Counter<'result'>;
  readonly now: () => number;
  /** How long one POST may take, in ms (connect, send, answer headers). */
  readonly timeoutMs: number;
  /** Waits before each retry of a POST that met no answer, a 429 or a 5xx; empty: no retry. */
  readonly retryDelaysMs: readonly number[];
}

/** The Logout Token for one client: signed like its ID tokens, `typ: logout+jwt`, never a nonce. */
export function signLogoutToken(options: {
  readonly keys: KeySet;
  readonly client: Client;
  readonly issuer: string;
  readonly now: number;
  readonly sub: string;
  readonly sid: string | undefined;
}): string {
  const iat = Math.floor(options.now / 1000);
  const payload: Record<string, unknown> = {
    iss: options.issuer,
    aud: options.client.client_id,
    iat,
    exp: iat + LOGOUT_TOKEN_LIFETIME,
    jti: randomBytes(16).toString('base64url'),
    sub: options.sub,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
  if (options.sid !== undefined) payload.sid = options.sid;
  return signWithActiveKey(options.keys, options.client.id_token_signed_response_alg, 'logout+jwt', payload);
}

/** Why a POST failed, for the log: a status, `timeout`, or the network error's code. Never the token. */
function errorCode(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown';
  if (error instanceof OutboundError && error.code === 'ERR_OUTBOUND_TIMEOUT') return 'timeout';
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof OutboundError ? error.code : error.name;
}

/**
 * Sends Logout Tokens in the background and keeps track of the deliveries in flight, so that
 * `close()` (called when the app closes) waits for them and tests can await `idle()`.
 */
export class BackchannelLogout {
  readonly #options: BackchannelLogoutOptions;
  readonly #pending = new Set<Promise<void>>();
  #closed = false;
  /** Aborted on close, so a delivery waiting to retry gives up at once instead of holding close(). */
  readonly #closing = new AbortController();

  constructor(options: BackchannelLogoutOptions) {
    this.#options = options;
  }

  /**
   * Starts one delivery per holder whose client registered a backchannel_logout_uri; returns at
   * once. Every failure is logged and counted, never thrown.
   */
  send(holders: readonly GrantHolder[]): void {
    for (const holder of holders) {
      if (this.#closed) {
        this.#options.log.warn({ client_id: holder.clientId }, 'back-channel logout not sent: closing');
        continue;
      }
      const delivery: Promise<void> = this.#deliver(holder).finally(() => {
        this.#pending.delete(delivery);
      });
      this.#pending.add(delivery);
    }
  }

  /** Resolves when no delivery is in flight (each is bounded by the timeout). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Refuses new deliveries and waits for the ones in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    await this.idle();
  }

  async #deliver(holder: GrantHolder): Promise<void> {
    const { log, counter } = this.#options;
    const clientId = holder.clientId;
    try {
      const client = await this.#options.findClient(clientId);
      const uri = client?.backchannel_logout_uri;
      if (client === undefined || uri === undefined) return;
      if (client.backchannel_logout_session_required && holder.sid === undefined) {
        log.warn({ client_id: clientId }, 'back-channel logout not sent: the client requires a sid');
        counter.inc({ result: 'failed' });
        return;
      }
      const delays = this.#options.retryDelaysMs;
      for (let attempt = 0; ; attempt++) {
        const outcome = await this.#post(uri, client, holder);
        if (outcome === 'ok') {
          counter.inc({ result: 'ok' });
          log.debug({ client_id: clientId, attempt: attempt + 1 }, 'back-channel logout delivered');
          return;
        }
        // A 4xx other than 429 is the client refusing this token: sending it again changes nothing.
        const retryable = outcome.retryable && attempt < delays.length && !this.#closed;
        log.warn(
          { client_id: clientId, attempt: attempt + 1, ...outcome.fact, retrying: retryable },
          'back-channel logout failed',
        );
        if (!retryable || !(await this.#wait(delays[attempt] as number))) break;
      }
      counter.inc({ result: 'failed' });
    } catch (error) {
      counter.inc({ result: 'failed' });
      log.warn({ client_id: clientId, error: errorCode(error) }, 'back-channel logout failed');
    }
  }

  /** One POST with a fresh Logout Token (a retry must not look like a replay of the first). */
  async #post(
    uri: string,
    client: Client,
    holder: GrantHolder,
  ): Promise<'ok' | { readonly retryable: boolean; readonly fact: Record<string, unknown> }> {
    const token = signLogoutToken({
      keys: this.#options.keys(),
      client,
      issuer: this.#options.issuer,
      now: this.#options.now(),
      sub: holder.userId,
      sid: holder.sid,
    });
    try {
      // The body means nothing to us (section 2.8): dropped unread. A redirect is not followed and
      // counts as a refusal, like any other non-2xx answer.
      const response = await outboundRequest(uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        timeout: this.#options.timeoutMs,
        maxBodyBytes: 0,
        discardBody: true,
        redirect: 'return',
      });
      if (response.status >= 200 && response.status < 300) return 'ok';
      return {
        retryable: response.status >= 500 || response.status === 429,
        fact: { status: response.status },
      };
    } catch (error) {
      return { retryable: true, fact: { error: errorCode(error) } };
    }
  }

  /** Resolves true after `ms`, or false at once when the service is closing. */
  #wait(ms: number): Promise<boolean> {
    const signal = this.#closing.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', stop);
        resolve(true);
      }, ms);
      const stop = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', stop, { once: true });
    });
  }
}
