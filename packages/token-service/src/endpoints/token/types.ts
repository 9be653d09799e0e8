import type { VerifiedDpopProof } from '@tessera/core';
import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../context.js';
import type { AuthenticatedClient } from '../../lib/client-auth/index.js';
import type { FormBody } from '../../lib/form-body.js';
import type { TokenHolder } from '../../lib/token-holder.js';
import type { GrantType } from '../../store/client.js';

/** What a grant handler gets: the authenticated client and the parsed, de-duplicated form. */
export interface GrantRequest {
  readonly ctx: ServiceContext;
  readonly request: FastifyRequest;
  readonly form: FormBody;
  readonly client: AuthenticatedClient;
  readonly grantType: GrantType;
  /** The request's DPoP proof, verified (RFC 9449 5): the access token is bound to its key. */
  readonly dpop: VerifiedDpopProof | undefined;
  /** Whom the issued tokens are bound to: the proof's key, the connection's certificate, nobody. */
  readonly holder: TokenHolder;
}

/** The RFC 6749 5.1 success body. */
export interface TokenResponse {
  readonly access_token: string;
  /** `DPoP` for a token bound to the request's proof key (RFC 9449 5.1). */
  readonly token_type: 'Bearer' | 'DPoP' | 'N_A';
  readonly expires_in: number;
  readonly scope?: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  /** RFC 8693 2.2.1, for token exchange. */
  readonly issued_token_type?: string;
}

/** One grant: checks the grant's own parameters and issues tokens, or throws an OAuthError. */
export type GrantHandler = (grant: GrantRequest) => Promise<TokenResponse>;
