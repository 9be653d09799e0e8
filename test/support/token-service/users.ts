import type { TokenService } from '@tessera/token-service';

export const ALICE_PASSWORD = 'alice-password-0123';

/** Alice, with a name and an email, in the service's user directory. */
export async function addAlice(service: TokenService): Promise<string> {
  const user = await service.users.create('alice', ALICE_PASSWORD, {
    name: 'Alice',
    email: 'alice@example.com',
  });
  return user.id;
}
