import { SealedBox } from '@tessera/core';

// The reuse grace hands a confidential client the successor of the refresh token it presented
// again. The successor is kept sealed under a key derived from the presented token: the database
// holds only the rotated token's hash, so a copy of the database (or the service secret) opens
// nothing; only a holder of the old token can.
const PURPOSE = 'tessera token-service refresh successor v1';

/** Seals `successor` for whoever presents `rotated` again; the grant id binds it to its family. */
export function sealSuccessor(rotated: string, grantId: string, successor: string): string {
  return SealedBox.fromSecret(rotated, PURPOSE).seal(successor, grantId);
}

/** The successor sealed by `sealSuccessor`, or undefined for anything else. */
export function openSuccessor(rotated: string, grantId: string, sealed: string): string | undefined {
  return SealedBox.fromSecret(rotated, PURPOSE).open(sealed, grantId)?.toString('utf8');
}
