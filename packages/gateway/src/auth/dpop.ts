import { DpopProofSigner, generateSigningKey, type SigningKey } from '@tessera/core';
import type { KeyValueStore } from '@tessera/storage';
import type { GatewayConfig } from '../config.js';
import { openStore } from './stores.js';

/**
 * The gateway's own DPoP key (RFC 9449): what the token routes exchange and the hybrid sessions'
 * tokens are bound to, and what signs the proof of every upstream request. `key` is the one given
 * (`dpopKey`, the same on every instance); without it a key is made for this process, which
 * suffices for token routes (each instance exchanges and caches its own tokens) and for hybrid
 * routes on one instance: instances sharing sessions must share the key, or a session's token is
 * refreshed whenever another instance's key meets it.
 */
export interface GatewayDpopKey {
  readonly key: SigningKey;
  readonly signer: DpopProofSigner;
  /** Whether the key was made for this process (no `dpopKey` given). */
  readonly generated: boolean;
}

export async function gatewayDpopKey(given: SigningKey | undefined): Promise<GatewayDpopKey> {
  const key = given ?? (await generateSigningKey('EdDSA'));
  return Object.freeze({ key, signer: new DpopProofSigner(key), generated: given === undefined });
}

/** Whether any part of the config needs the gateway's DPoP key. */
export function usesDpop(config: GatewayConfig): boolean {
  return config.token?.dpop !== undefined || config.hybrid?.dpop === true;
}

/**
 * Where the token routes remember proof ids: the store given, else `token.dpop.store`, else the
 * session store's config, else memory (the config loader warns). `owned` says whether the gateway
 * opened it and must close it.
 */
export function proofReplayStore(
  config: GatewayConfig,
  given: KeyValueStore | undefined,
): { readonly store: KeyValueStore; readonly owned: boolean } {
  if (given !== undefined) return { store: given, owned: false };
  const configured = config.token?.dpop?.store ?? config.session?.store ?? { type: 'memory' as const };
  return { store: openStore(configured), owned: true };
}
