import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../context.js';
import { registerDeviceAuthorization } from './authorization.js';
import { registerDevicePage } from './page.js';

/** The device authorization grant (RFC 8628): its endpoint and its user-code page; polling is at /token. */
export function registerDevice(app: FastifyInstance, ctx: ServiceContext): void {
  registerDeviceAuthorization(app, ctx);
  registerDevicePage(app, ctx);
}
