import { randomBytes, timingSafeEqual } from 'node:crypto';
import { findCookie, SealedBox, serializeCookie, sha256Base64url } from '@tessera/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The validated /authorize request, carried between the login (and consent) page and its POST
 * inside the form itself: sealed (AES-256-GCM under a key derived from the service secret), so
 * the browser can neither read nor alter it, and nothing is stored for a request that has not
 * authenticated anything.
 */
export interface AuthorizationRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly scopes: readonly string[];
  readonly audiences: readonly string[];
  readonly codeChallenge: string;
  readonly prompt: readonly string[];
  /** Seconds, when the client sent `max_age`. */
  readonly maxAge: number | undefined;
  /** The DPoP key thumbprint the code is bound to (`dpop_jkt`, RFC 9449 10), when sent. */
  readonly dpopJkt?: string | undefined;
}

export interface Interaction<Request = AuthorizationRequest> {
  readonly request: Request;
  /** SHA-256 of the interaction cookie's value: the browser this form belongs to. */
  readonly binding: string;
  readonly csrf: string;
  /** Epoch ms after which the form is refused. */
  readonly expiresAt: number;
  /** Set once the user signed in during this interaction (consent comes next). */
  readonly userId?: string;
}

/** Why a form's interaction was refused; each has its own page. */
export type InteractionRefusal =
  /** Not sealed by this service (altered, truncated, made up) or no interaction at all. */
  | 'damaged'
  | 'expired'
  /** Sealed by us, but for another browser (or this browser's interaction ended), or the CSRF token is wrong. */
  | 'elsewhere';

export type OpenedInteraction<Request = AuthorizationRequest> =
  | { readonly ok: true; readonly interaction: Interaction<Request> }
  | { readonly ok: false; readonly refusal: InteractionRefusal };

export const INTERACTION_TTL_MS = 10 * 60 * 1000;
/** Far above any sealed request /authorize accepts; a longer field is not even opened. */
const MAX_SEALED_LENGTH = 32 * 1024;
const FORMAT = 1;

const random = (): string => randomBytes(32).toString('base64url');

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Interactions sealed into the form they belong to, bound to the browser by a random cookie whose
 * hash the sealed value holds. Every page (login, then consent) gets a new cookie value, and the
 * last step clears it, so a form cannot be carried into another browser, and a form of an ended
 * interaction (or of the step before) opens to nothing. Within one browser, concurrent POSTs of
 * the same form can each complete; each then yields its own one-use code for the same client and
 * PKCE challenge, which is what the code flow itself allows for two sign-ins.
 */
export class SealedInteractions<Request = AuthorizationRequest> {
  readonly #box: SealedBox;
  readonly #secure: boolean;
  readonly #now: () => number;
  readonly #name: string;

  constructor(options: {
    readonly secret: Uint8Array;
    readonly secure: boolean;
    readonly now: () => number;
    /**
     * Another kind of interaction (the device flow's): its own sealing key and cookie, so a form of
     * one kind never opens as the other. Default: the /authorize interaction.
     */
    readonly kind?: string;
  }) {
    const kind = options.kind === undefined ? '' : `-${options.kind}`;
    this.#box = SealedBox.fromSecret(options.secret, `tessera token-service interaction${kind}`);
    this.#secure = options.secure;
    this.#now = options.now;
    this.#name = `tessera-interaction${kind}`;
  }

  #cookieName(): string {
    return this.#secure ? `__Host-${this.#name}` : this.#name;
  }

  #setCookie(reply: FastifyReply, value: string, maxAgeSeconds: number): void {
    reply.header(
      'set-cookie',
      serializeCookie(this.#cookieName(), value, { secure: this.#secure, sameSite: 'Lax', maxAgeSeconds }),
    );
  }

  /**
   * A new interaction (or its next step, with `userId`): sets a new binding cookie on `reply` and
   * returns the sealed value for the form's hidden field and the form's CSRF token. Writes nothing.
   */
  start(request: Request, reply: FastifyReply, userId?: string): { sealed: string; csrf: string } {
    const binding = random();
    const interaction: Interaction<Request> = {
      request,
      binding: sha256Base64url(binding),
      csrf: random(),
      expiresAt: this.#now() + INTERACTION_TTL_MS,
      ...(userId === undefined ? {} : { userId }),
    };
    this.#setCookie(reply, binding, INTERACTION_TTL_MS / 1000);
    return { sealed: this.#box.seal(JSON.stringify({ v: FORMAT, ...interaction })), csrf: interaction.csrf };
  }

  /** The interaction a form carries, when we sealed it, it has not expired, this browser holds its cookie and `csrf` matches. */
  open(
    request: FastifyRequest,
    sealed: string | undefined,
    csrf: string | undefined,
  ): OpenedInteraction<Request> {
    const interaction = sealed === undefined ? undefined : this.#unseal(sealed);
    if (interaction === undefined) return { ok: false, refusal: 'damaged' };
    if (this.#now() > interaction.expiresAt) return { ok: false, refusal: 'expired' };
    const cookie = findCookie(request.headers.cookie, this.#cookieName());
    // Two cookies of our name: we cannot tell which is ours, so neither counts.
    if (cookie.count !== 1 || cookie.value === undefined) return { ok: false, refusal: 'elsewhere' };
    if (!equal(sha256Base64url(cookie.value), interaction.binding))
      return { ok: false, refusal: 'elsewhere' };
    if (csrf === undefined || !equal(csrf, interaction.csrf)) return { ok: false, refusal: 'elsewhere' };
    return { ok: true, interaction };
  }

  /** Ends the interaction in this browser: its binding cookie is cleared, so its forms open to nothing. */
  finish(reply: FastifyReply): void {
    this.#setCookie(reply, '', 0);
  }

  #unseal(sealed: string): Interaction<Request> | undefined {
    if (sealed.length > MAX_SEALED_LENGTH) return undefined;
    const opened = this.#box.open(sealed);
    if (opened === undefined) return undefined;
    try {
      const value = JSON.parse(opened.toString('utf8')) as Interaction<Request> & { v?: unknown };
      if (value.v !== FORMAT || typeof value.expiresAt !== 'number') return undefined;
      const { v: _format, ...interaction } = value;
      return interaction;
    } catch {
      return undefined;
    }
  }
}
