/**
 * What the user-code page's sign-in and approval forms carry, sealed (the device flow's own kind
 * of `SealedInteractions`): which device authorization the user entered the code of. Nothing is
 * stored for it; the authorization itself is re-read, and must still be pending, at every step.
 */
export interface DeviceInteraction {
  /** The device authorization's key (the SHA-256 of its device code). */
  readonly deviceCodeHash: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** As it is shown, `XXXX-XXXX`, so the approval page can repeat it. */
  readonly userCode: string;
}
