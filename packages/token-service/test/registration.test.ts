import { describe, expect, it } from 'vitest';
import { matchRedirectUri, redirectUriProblem } from '../src/lib/redirect-uri.js';
import { type ClientRegistration, validateRegistration } from '../src/store/client-registration.js';

function fails(input: ClientRegistration, pattern: RegExp): void {
  expect(() => validateRegistration(input)).toThrowError(pattern);
  try {
    validateRegistration(input);
  } catch (error) {
    expect(error).toMatchObject({ code: 'ERR_CLIENT_REGISTRATION_INVALID' });
  }
}

describe('client registration rules', () => {
  it('applies the documented defaults', () => {
    const publicClient = validateRegistration({
      client_id: 'web',
      redirect_uris: ['https://app.example.com/cb'],
    });
    expect(publicClient).toMatchObject({
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: 'RS256',
      first_party: false,
    });
    const service = validateRegistration({ client_id: 'svc', client_secret: 's' });
    expect(service).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
    });
  });

  it('docs/security.md B37: redirect URIs are absolute, without fragment, https or loopback http', () => {
    for (const uri of [
      'https://app.example.com/cb',
      'http://127.0.0.1:8080/cb',
      'http://[::1]/cb',
      'http://localhost:3000/cb',
    ]) {
      expect(redirectUriProblem(uri)).toBeUndefined();
    }
    for (const uri of [
      'http://app.example.com/cb',
      'http://10.0.0.1/cb',
      '/relative',
      'https://app.example.com/cb#frag',
      'javascript:alert(1)',
      'https://user:pw@app.example.com/cb',
      'custom-scheme:/cb',
    ]) {
      expect(redirectUriProblem(uri)).toBeTypeOf('string');
      fails({ client_id: 'web', redirect_uris: [uri] }, /redirect URI/);
    }
    fails(
      {
        client_id: 'web',
        redirect_uris: ['https://ok.example.com/'],
        post_logout_redirect_uris: ['http://evil.example.com/'],
      },
      /redirect URI/,
    );
  });

  it('docs/security.md B36, B37: redirect URIs match exactly, except a loopback port', () => {
    const registered = ['https://app.example.com/cb', 'http://127.0.0.1:8080/cb', 'http://[::1]/cb'];
    expect(matchRedirectUri(registered, 'https://app.example.com/cb')).toBe(true);
    expect(matchRedirectUri(registered, 'http://127.0.0.1:51000/cb')).toBe(true);
    expect(matchRedirectUri(registered, 'http://127.0.0.1/cb')).toBe(true);
    expect(matchRedirectUri(registered, 'http://[::1]:4000/cb')).toBe(true);
    for (const near of [
      'https://app.example.com/cb?x=1',
      'https://app.example.com/cb/',
      'https://app.example.com/cbx',
      'https://APP.example.com/cb',
      'http://app.example.com/cb',
      'https://app.example.com:8443/cb',
      'http://127.0.0.1:51000/cb/../cb',
      'http://127.0.0.1:51000/other',
      'http://localhost:8080/cb',
      'http://127.0.0.1:51000/cb#x',
    ]) {
      expect(matchRedirectUri(registered, near)).toBe(false);
    }
  });

  it('refuses inconsistent auth methods, grants and keys', () => {
    fails({ client_id: 'a', token_endpoint_auth_method: 'client_secret_post' }, /needs a client_secret/);
    fails({ client_id: 'a', client_secret: 's', token_endpoint_auth_method: 'none' }, /cannot be used/);
    fails({ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt' }, /needs jwks/);
    fails(
      { client_id: 'a', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc', d: 'secret' }] } },
      /public keys only/,
    );
    fails({ client_id: 'a', jwks: { keys: [{ kty: 'oct', k: 'abc' }] } }, /public keys only/);
    fails({ client_id: 'a', grant_types: ['authorization_code'] }, /redirect URI/);
    fails(
      { client_id: 'a', redirect_uris: ['https://a.example/cb'], grant_types: ['client_credentials'] },
      /public client/,
    );
    fails({ client_id: 'a', client_secret: 's', grant_types: ['refresh_token'] }, /refresh_token/);
    fails({ client_id: 'a', client_secret: 's', grant_types: ['password' as never] }, /grant_types/);
  });

  it('refuses bad ids, scopes and audiences, and unknown fields', () => {
    fails({ client_id: '' }, /client_id/);
    fails({ client_id: 'has space' }, /client_id/);
    fails({ client_id: 'a', client_secret: 's', scopes: ['ok', 'not"ok'] }, /scope/);
    fails({ client_id: 'a', client_secret: 's', scopes: ['two words'] }, /scope/);
    fails({ client_id: 'a', client_secret: 's', audiences: ['two words'] }, /audiences/);
    fails(
      { client_id: 'a', client_secret: 's', colour: 'blue' } as ClientRegistration,
      /colour|Unrecognized/i,
    );
  });
});
