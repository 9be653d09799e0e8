import {
  type AccessTokenClaims,
  AccessTokenSigner,
  type IssuedAccessToken,
  type IssueOptions,
  type KeySet,
  type SigningAlgorithm,
} from '@tessera/core';

export interface AccessTokenIssuerOptions {
  readonly keys: () => KeySet;
  readonly issuer: string;
  readonly lifetime: number;
  readonly now: () => number;
  /** The algorithm of every audience not named in `byAudience`. */
  readonly alg: SigningAlgorithm;
  /** Per audience (`aud` value), the algorithm its verifier needs. */
  readonly byAudience: Readonly<Record<string, SigningAlgorithm>>;
}

/**
 * Signs access tokens with the algorithm their audience is configured for (RFC 9068 makes RS256
 * the one every verifier supports; EdDSA by default). Each algorithm has one core signer over
 * the active key of that algorithm, so rotation is the key set's, as for every other key.
 */
export class AccessTokenIssuer {
  readonly #signers = new Map<SigningAlgorithm, AccessTokenSigner>();
  readonly #alg: SigningAlgorithm;
  readonly #byAudience: ReadonlyMap<string, SigningAlgorithm>;
  /** Every algorithm an access token of this service is signed with, as configured. */
  readonly algorithms: readonly SigningAlgorithm[];
  /**
   * What the service's own checks of its access tokens accept (userinfo, introspection, revocation,
   * token exchange): EdDSA and ES256 as always, and every configured algorithm. An RS256 key also
   * signs ID tokens, but those are `typ: JWT`, and these checks require `at+jwt`.
   */
  readonly acceptedAlgorithms: readonly SigningAlgorithm[];

  constructor(options: AccessTokenIssuerOptions) {
    this.#alg = options.alg;
    this.#byAudience = new Map(Object.entries(options.byAudience));
    const algorithms = new Set<SigningAlgorithm>([options.alg, ...this.#byAudience.values()]);
    for (const alg of algorithms) {
      this.#signers.set(
        alg,
        new AccessTokenSigner({
          keys: options.keys,
          issuer: options.issuer,
          lifetime: options.lifetime,
          now: options.now,
          alg,
        }),
      );
    }
    this.algorithms = Object.freeze([...algorithms]);
    this.acceptedAlgorithms = Object.freeze([
      ...new Set<SigningAlgorithm>(['EdDSA', 'ES256', ...algorithms]),
    ]);
  }

  /**
   * The algorithm of a token for these audiences: theirs when they agree; when they differ, RS256
   * if one of them needs it (every RFC 9068 verifier takes it), else the server-wide one.
   */
  algorithmFor(audience: string | readonly string[]): SigningAlgorithm {
    // The usual case, nothing configured per audience, costs nothing on the token endpoint's path.
    if (this.#byAudience.size === 0) return this.#alg;
    if (typeof audience === 'string') return this.#byAudience.get(audience) ?? this.#alg;
    const wanted = new Set(audience.map((aud) => this.#byAudience.get(aud) ?? this.#alg));
    if (wanted.size === 1) return wanted.values().next().value as SigningAlgorithm;
    return wanted.has('RS256') ? 'RS256' : this.#alg;
  }

  issue(claims: AccessTokenClaims, options?: IssueOptions): IssuedAccessToken {
    const signer = this.#signers.get(this.algorithmFor(claims.audience)) as AccessTokenSigner;
    return signer.issue(claims, options);
  }
}
