/** `client_secret_basic` (RFC 6749 2.3.1): id and secret are form-urlencoded before Basic encoding. */
export function basicAuthorization(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}
