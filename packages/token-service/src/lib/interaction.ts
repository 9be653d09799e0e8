import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Base64url } from '@tessera/core';
import type { KeyValueStore } from '@tessera/storage';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The validated /authorize request, kept in the key-value store under a random id between the
 * login (and consent) page and its POST, so nothing of it travels in the URL. The record is bound
 * to the browser by a random cookie (only its hash is stored) and carries the form's CSRF token.
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
}

export interface Interaction {
  readonly request: AuthorizationRequest;
  /** SHA-256 of the interaction cookie's value. */
  readonly binding: string;
  readonly csrf: string;
  /** Set once the user signed in during this interaction (consent comes next). */
  readonly userId?: string;
}

export const INTERACTION_TTL_MS = 10 * 60 * 1000;
const KEY_PREFIX = 'op-interaction:';
const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const random = (): string => randomBytes(32).toString('base64url');

function cookieName(secure: boolean): string {
  return secure ? '__Host-tessera-interaction' : 'tessera-interaction';
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const found: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) found.push(part.slice(eq + 1).trim());
  }
  // Two cookies of our name: we cannot tell which is ours, so neither counts.
  return found.length === 1 ? found[0] : undefined;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Interactions in the key-value store, bound to the browser by a cookie. */
export class InteractionStore {
  readonly #store: KeyValueStore;
  readonly #secure: boolean;

  constructor(store: KeyValueStore, secure: boolean) {
    this.#store = store;
    this.#secure = secure;
  }

  /** Stores a new interaction, sets its cookie on `reply`, and returns its id and CSRF token. */
  async start(
    request: AuthorizationRequest,
    reply: FastifyReply,
    userId?: string,
  ): Promise<{ id: string; csrf: string }> {
    const id = random();
    const binding = random();
    const csrf = random();
    const interaction: Interaction = {
      request,
      binding: sha256Base64url(binding),
      csrf,
      ...(userId === undefined ? {} : { userId }),
    };
    await this.#store.set(KEY_PREFIX + id, JSON.stringify(interaction), { ttlMs: INTERACTION_TTL_MS });
    const secure = this.#secure ? '; Secure' : '';
    reply.header(
      'set-cookie',
      `${cookieName(this.#secure)}=${binding}; Path=/; Max-Age=${INTERACTION_TTL_MS / 1000}; HttpOnly; SameSite=Lax${secure}`,
    );
    return { id, csrf };
  }

  /**
   * The interaction named by `id`, when it exists, this browser holds its cookie and `csrf`
   * matches; undefined otherwise (expired, forged, cross-site, missing token).
   */
  async find(
    request: FastifyRequest,
    id: string | undefined,
    csrf: string | undefined,
  ): Promise<Interaction | undefined> {
    if (id === undefined || !ID_SHAPE.test(id) || csrf === undefined) return undefined;
    const raw = await this.#store.get(KEY_PREFIX + id);
    if (raw === null) return undefined;
    const interaction = JSON.parse(raw) as Interaction;
    const cookie = readCookie(request.headers.cookie, cookieName(this.#secure));
    if (cookie === undefined || !equal(sha256Base64url(cookie), interaction.binding)) return undefined;
    if (!equal(csrf, interaction.csrf)) return undefined;
    return interaction;
  }

  /** Records the signed-in user (login done, consent next). */
  async update(id: string, interaction: Interaction): Promise<void> {
    await this.#store.set(KEY_PREFIX + id, JSON.stringify(interaction), { ttlMs: INTERACTION_TTL_MS });
  }

  /** Ends the interaction: a form can be submitted to completion once. True for the caller that ended it. */
  async finish(id: string, reply: FastifyReply): Promise<boolean> {
    const taken = await this.#store.take(KEY_PREFIX + id);
    const secure = this.#secure ? '; Secure' : '';
    reply.header(
      'set-cookie',
      `${cookieName(this.#secure)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure}`,
    );
    return taken !== null;
  }
}
