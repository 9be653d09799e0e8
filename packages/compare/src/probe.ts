import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * What a shop service run by `tessera compare` tells the run about the requests it served: their
 * durations, the bytes of credentials they carried, and what the service established about the
 * caller. Sent over the IPC channel of the child process, on request, so a service without that
 * channel (run by hand) is not touched.
 */
export interface ProbeStats {
  readonly type: 'probe:stats';
  /** Durations in ms of the requests since the last reset. */
  readonly durationsMs: readonly number[];
  /** Bytes of credentials summed over those requests. */
  readonly credentialBytes: number;
  /** What the last authenticated request established about its caller. */
  readonly proved: readonly string[];
}

export interface ProbeRequest {
  readonly type: 'probe:read';
  /** Start a new window after answering. */
  readonly reset: boolean;
}

/** Headers that carry the caller's credentials to a service. */
const CREDENTIAL_HEADERS = ['authorization', 'x-tessera-session'] as const;

interface ProbedPrincipal {
  readonly subject?: string;
  readonly clientId?: string;
  readonly scopes?: readonly string[];
  readonly actors?: readonly { readonly subject?: string }[];
  readonly sessionId?: string;
  /** The token's binding (`cnf`): a DPoP key's thumbprint or a certificate's. */
  readonly binding?: { readonly type: string };
}

/** What a principal lets a service prove, in words. */
function provedBy(principal: ProbedPrincipal): string[] {
  const proved: string[] = [];
  if (principal.subject !== undefined) proved.push('user');
  if (principal.sessionId !== undefined && (principal.scopes?.length ?? 0) === 0)
    proved.push('signed-in session');
  if ((principal.scopes?.length ?? 0) > 0) proved.push(`scopes: ${principal.scopes?.join(' ')}`);
  if (principal.clientId !== undefined && (principal.scopes?.length ?? 0) > 0)
    proved.push(`client: ${principal.clientId}`);
  const actors = principal.actors ?? [];
  if (actors.length > 0) proved.push(`via: ${actors.map((actor) => actor.subject ?? '?').join(' < ')}`);
  // A bound token is taken only with its holder's proof: the service proved the key too.
  if (principal.binding?.type === 'dpop') proved.push('key: DPoP proof');
  return proved;
}

const started = new WeakMap<FastifyRequest, bigint>();

/** Adds the probe's hooks to `app` when this process has an IPC channel to a `tessera compare` run. */
export function attachProbe(app: FastifyInstance): void {
  const send = process.send?.bind(process);
  if (send === undefined) return;
  let durations: number[] = [];
  let credentialBytes = 0;
  let proved: string[] = [];
  app.addHook('onRequest', (request, _reply, done) => {
    started.set(request, process.hrtime.bigint());
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    const start = started.get(request);
    if (start !== undefined && request.url !== '/healthz') {
      durations.push(Number(process.hrtime.bigint() - start) / 1e6);
      for (const name of CREDENTIAL_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') credentialBytes += Buffer.byteLength(value);
      }
      const principal = (request as { principal?: ProbedPrincipal | null }).principal;
      if (principal !== null && principal !== undefined) proved = provedBy(principal);
    }
    done();
  });
  process.on('message', (message: ProbeRequest) => {
    if (message?.type !== 'probe:read') return;
    const stats: ProbeStats = { type: 'probe:stats', durationsMs: durations, credentialBytes, proved };
    send(stats);
    if (message.reset) {
      durations = [];
      credentialBytes = 0;
    }
  });
  // The run ends this process with a signal; a lost channel means the run is gone.
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // A listener on 'message' holds the event loop open: once the service has closed on SIGTERM
  // the process would wait for the run's SIGKILL. The listening server keeps it alive till then.
  process.channel?.unref();
}
