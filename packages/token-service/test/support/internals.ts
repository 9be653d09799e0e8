import type { ServiceContext as BuiltContext } from '../../dist/context.js';
import type { ServiceContext } from '../../src/context.js';

/**
 * A service context as this package's src sees it. The shared harness (root test/support) runs the
 * built package; a test of this package that calls an internal function from src
 * (revokeAccessToken, endUserSessions, purgeRecords) hands it the harness's context. At run time
 * they are the same code; only the type names differ (dist's classes against src's, whose private
 * fields make them distinct types).
 */
export function internalContext(from: { readonly context: BuiltContext } | BuiltContext): ServiceContext {
  return ('context' in from ? from.context : from) as unknown as ServiceContext;
}
