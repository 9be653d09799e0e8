import { TesseraTypeError } from '@tessera/core';
import { SESSION_REFERENCE_HEADER } from '@tessera/resource/session';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthMode, RouteConfig } from '../config.js';
import type { GatewayModes } from '../modes.js';
import type { RouteMatch } from './routes.js';

/** The headers a mode vouches for, added to what goes upstream. */
export type Identity = Readonly<Record<string, string>>;

/**
 * What a route's mode does with a request before it goes upstream: the identity headers, or a
 * throw (or rejection) that is answered instead. Synchronous where nothing has to wait (a public
 * route, a token settled at once), so the common request pays no promise.
 */
export type ModeHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  match: RouteMatch,
) => Identity | Promise<Identity>;

/** A handler for every mode: adding a mode to the config without one here does not compile. */
export type ModeTable = { readonly [M in AuthMode]: ModeHandler };

/** The header each mode's identity travels in; a public route vouches for nobody. */
const identityHeader: { readonly [M in AuthMode]: string | undefined } = {
  public: undefined,
  token: 'authorization',
  session: SESSION_REFERENCE_HEADER,
  hybrid: 'authorization',
};

const nobody: Identity = Object.freeze({});

function checked(mode: AuthMode, identity: Identity): Identity {
  const header = identityHeader[mode];
  if (header === undefined) return identity;
  const value = identity[header];
  if (typeof value === 'string' && value.length > 0) return identity;
  // A mode that answered without its identity is a bug of the gateway's: refused, never forwarded.
  throw new Error(`the ${mode} mode produced no ${header} for the upstream`);
}

/**
 * Makes sure a request leaves a mode only with the identity header the mode demands: an answer
 * without it becomes a 500, never a request an upstream sees unauthenticated.
 */
function demandingIdentity(mode: AuthMode, handler: ModeHandler): ModeHandler {
  return (request, reply, match) => {
    const identity = handler(request, reply, match);
    return identity instanceof Promise
      ? identity.then((later) => checked(mode, later))
      : checked(mode, identity);
  };
}

const modeNames = Object.keys(identityHeader) as AuthMode[];

function isMode(value: unknown): value is AuthMode {
  return typeof value === 'string' && Object.hasOwn(identityHeader, value);
}

/** The handlers of the opened modes; a mode that was not opened has none. */
function handlersOf(modes: GatewayModes): { readonly [M in AuthMode]: ModeHandler | undefined } {
  const { token, session, hybrid } = modes;
  return {
    public: () => nobody,
    token:
      token === undefined
        ? undefined
        : (request, _reply, match) =>
            token.authorize(request, match.route.config, `${match.route.origin}${match.upstreamPath}`),
    session:
      session === undefined
        ? undefined
        : (request, reply, match) =>
            session.authorize(request, reply, match.route.config, match.upstreamPath),
    hybrid:
      hybrid === undefined
        ? undefined
        : (request, reply, match) =>
            hybrid.authorize(
              request,
              reply,
              match.route.config,
              `${match.route.origin}${match.upstreamPath}`,
            ),
  };
}

/**
 * The per-route dispatch: one handler per mode, each demanding its identity. Checked against the
 * routes at start, so no request can find its route's mode without a handler: a route whose
 * `auth` is not a mode, or names a mode that was not opened (its config section missing), is
 * refused here with `ERR_INVALID_OPTION` (the config loader refuses both already; this holds for
 * a config built by hand too).
 */
export function modeTable(routes: readonly RouteConfig[], modes: GatewayModes): ModeTable {
  const handlers = handlersOf(modes);
  routes.forEach((route, index) => {
    const mode: unknown = route.auth;
    if (!isMode(mode)) {
      throw new TesseraTypeError(
        'ERR_INVALID_OPTION',
        `routes[${index}].auth: not a mode of the gateway (${modeNames.join(', ')})`,
      );
    }
    if (handlers[mode] === undefined) {
      throw new TesseraTypeError(
        'ERR_INVALID_OPTION',
        `routes[${index}] (auth: ${mode}): the ${mode} mode is not configured`,
      );
    }
  });
  const refuse: ModeHandler = () => {
    throw new Error('no route of this mode is configured');
  };
  const table = {} as { [M in AuthMode]: ModeHandler };
  for (const mode of modeNames) table[mode] = demandingIdentity(mode, handlers[mode] ?? refuse);
  return Object.freeze(table);
}
