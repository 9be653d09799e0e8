/**
 * A Logout Token (OpenID Connect Back-Channel Logout 1.0, section 2.4) as the token service signs
 * one for a client: the service's own `signLogoutToken`, from its build (with the service's active
 * key for the client's ID-token algorithm, `typ: logout+jwt`, two minutes of life, no nonce). A
 * relying party's tests use it to send the logouts the token service would, and the variants it
 * must refuse (another issuer, other keys).
 */
export { signLogoutToken } from '../../../packages/token-service/dist/lib/backchannel-logout.js';
