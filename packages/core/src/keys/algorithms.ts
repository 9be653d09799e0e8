/** The JWS algorithms Tessera signs and verifies with. HMAC is never one of them (key confusion). */
export type SigningAlgorithm = 'EdDSA' | 'ES256' | 'RS256';

export const signingAlgorithms: readonly SigningAlgorithm[] = Object.freeze(['EdDSA', 'ES256', 'RS256']);

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return value === 'EdDSA' || value === 'ES256' || value === 'RS256';
}
