import { describe, expect, it } from 'vitest';
import {
  encodeRevocationEvent,
  parseRevocationEvent,
  REVOCATION_TOPIC,
  type RevocationEvent,
  TesseraTypeError,
} from '../src/index.js';

it('publishes on the topic the token service and every resource server share', () => {
  expect(REVOCATION_TOPIC).toBe('tessera.revocation');
});

describe('revocation events on the wire', () => {
  it('encode exactly kind, value, until in that order, and parse back', () => {
    for (const kind of ['jti', 'sub', 'sid', 'client'] as const) {
      const event: RevocationEvent = { kind, value: `v-${kind}`, until: 1_900_000_000 };
      const wire = encodeRevocationEvent({ ...event, extra: 'dropped' } as RevocationEvent);
      expect(wire).toBe(`{"kind":"${kind}","value":"v-${kind}","until":1900000000}`);
      expect(parseRevocationEvent(wire)).toEqual(event);
    }
  });

  it('refuse to encode a malformed event (programmer error)', () => {
    const bad = [
      { kind: 'user', value: 'x', until: 1 },
      { kind: 'jti', value: '', until: 1 },
      { kind: 'jti', value: 'x', until: 1.5 },
      { kind: 'jti', value: 'x', until: 0 },
    ];
    for (const event of bad) {
      expect(() => encodeRevocationEvent(event as RevocationEvent)).toThrow(TesseraTypeError);
    }
  });

  it('parse nothing from a message that is not a well-formed event', () => {
    for (const message of [
      'not json',
      '[]',
      'null',
      '{"kind":"jti","value":"x"}',
      '{"kind":"JTI","value":"x","until":1}',
      '{"kind":"jti","value":7,"until":1}',
      '{"kind":"jti","value":"x","until":"1"}',
      '{"kind":"jti","value":"x","until":-1}',
    ]) {
      expect(parseRevocationEvent(message)).toBeUndefined();
    }
  });
});

describe('revocation events: bounds a subscriber holds in memory', () => {
  it('parse nothing from an oversized message or value, and the encoder refuses such a value', () => {
    const long = 'x'.repeat(1025);
    expect(parseRevocationEvent(JSON.stringify({ kind: 'sub', value: long, until: 1 }))).toBeUndefined();
    expect(
      parseRevocationEvent(`{"kind":"sub","value":"x","until":1,"pad":"${'x'.repeat(4096)}"}`),
    ).toBeUndefined();
    expect(parseRevocationEvent(7 as unknown as string)).toBeUndefined();
    expect(() => encodeRevocationEvent({ kind: 'sub', value: long, until: 1 })).toThrow(TesseraTypeError);
    const edge = encodeRevocationEvent({ kind: 'sub', value: 'x'.repeat(1024), until: 1 });
    expect(parseRevocationEvent(edge)?.value).toHaveLength(1024);
  });

  it('parse returns a frozen event', () => {
    expect(Object.isFrozen(parseRevocationEvent('{"kind":"sid","value":"s","until":5}'))).toBe(true);
  });
});
