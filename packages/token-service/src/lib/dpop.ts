import {
  checkDpopBinding,
  createDpopProofVerifier,
  DpopError,
  DpopNonces,
  type DpopProofVerifier,
  type Principal,
  refuseBoundBearer,
  type SigningAlgorithm,
  type VerifiedDpopProof,
} from '@tessera/core';
import type { KeyValueStore } from '@tessera/storage';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '../store/client.js';
import { OAuthError } from './oauth-error.js';

/** DPoP at an endpoint of this service (RFC 9449 5): the proof of a request, checked once. */
export interface ServiceDpop {
  /** The `alg` values a proof may carry: discovery's `dpop_signing_alg_values_supported`. */
  readonly algorithms: readonly string[];
  /**
   * The proof of a `/token` request, verified for `POST` to the token endpoint's URL, or undefined
   * when the request sends none (refused for a client registered `dpop_bound_access_tokens`). Puts
   * the current `DPoP-Nonce` on the answer when nonces are on, before anything can fail.
   */
  tokenRequestProof(
    request: FastifyRequest,
    reply: FastifyReply,
    client: Client,
  ): Promise<VerifiedDpopProof | undefined>;
  /**
   * RFC 9449 7 at this service's own resource (`/userinfo`, at `url`): under `DPoP` the token must
   * be bound to the key of the request's proof, which must hold for this method, URL and token;
   * under `Bearer` a bound token is refused. Throws a DpopError.
   */
  checkResourceRequest(
    request: FastifyRequest,
    scheme: 'Bearer' | 'DPoP',
    token: string,
    principal: Principal,
    url: string,
  ): Promise<void>;
}

export interface ServiceDpopOptions {
  readonly store: KeyValueStore;
  readonly tokenEndpoint: string;
  readonly algorithms: readonly SigningAlgorithm[];
  readonly window: number;
  /** The nonce key when server nonces are on. */
  readonly nonceSecret: Uint8Array | undefined;
  readonly now: () => number;
}

/** A DpopError as the token endpoint answers it: 400 with the RFC 9449 code (5, 8). */
function dpopOAuthError(error: DpopError): OAuthError {
  const code = error.oauthError === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
  return new OAuthError(code, error.message, { cause: { code: error.code } });
}

export function createServiceDpop(options: ServiceDpopOptions): ServiceDpop {
  const verifier: DpopProofVerifier = createDpopProofVerifier({
    replay: options.store,
    algorithms: options.algorithms,
    window: options.window,
    now: options.now,
  });
  const nonces =
    options.nonceSecret === undefined
      ? undefined
      : new DpopNonces({ secret: options.nonceSecret, now: options.now });
  const acceptsNonce = nonces === undefined ? undefined : (nonce: string) => nonces.accepts(nonce);

  async function tokenRequestProof(
    request: FastifyRequest,
    reply: FastifyReply,
    client: Client,
  ): Promise<VerifiedDpopProof | undefined> {
    if (nonces !== undefined) reply.header('dpop-nonce', nonces.current());
    const proof = request.headers.dpop;
    if (proof === undefined) {
      if (client.dpop_bound_access_tokens) {
        throw new OAuthError(
          'invalid_dpop_proof',
          'this client must send a DPoP proof (dpop_bound_access_tokens)',
        );
      }
      return undefined;
    }
    try {
      return await verifier.verify({
        proof,
        method: request.method,
        url: options.tokenEndpoint,
        ...(acceptsNonce === undefined ? {} : { acceptsNonce }),
      });
    } catch (error) {
      if (error instanceof DpopError) throw dpopOAuthError(error);
      throw error;
    }
  }

  async function checkResourceRequest(
    request: FastifyRequest,
    scheme: 'Bearer' | 'DPoP',
    token: string,
    principal: Principal,
    url: string,
  ): Promise<void> {
    if (scheme === 'Bearer') {
      refuseBoundBearer(principal, request.raw.socket);
      return;
    }
    const proof = await verifier.verify({
      proof: request.headers.dpop,
      method: request.method,
      url,
      accessToken: token,
    });
    checkDpopBinding(principal, proof);
  }

  return Object.freeze({ algorithms: verifier.algorithms, tokenRequestProof, checkResourceRequest });
}
