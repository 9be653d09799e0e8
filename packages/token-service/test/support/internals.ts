import type { ServiceContext as BuiltContext, TokenService } from '@tessera/token-service';
import type { ServiceContext } from '../../src/context.js';

/**
 * The context of a service the shared harness started, typed as this package's src sees it. The
 * harness (root test/support) runs the built package; a test of this package that calls an
 * internal function from src (revokeAccessToken, endUserSessions) hands it that context. At run
 * time they are the same code; only the type names differ (dist's classes against src's, whose
 * private fields make them distinct types).
 */
export function internalContext(from: TokenService | BuiltContext): ServiceContext {
  return ('context' in from ? from.context : from) as unknown as ServiceContext;
}
