/**
 * loadConfig: the environment is validated once at start-up; a bad value stops the process with
 * a message naming the variable. Always given an explicit environment object (never process.env).
 */
import { exportJWK, generateKeyPair } from 'jose';
import { loadConfig } from '../../src/config/config';

async function operatorJwks(): Promise<{ keys: Record<string, unknown>[] }> {
  const { publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { keys: [{ ...(await exportJWK(publicKey)), kid: 'operator-1', alg: 'EdDSA', use: 'sig' }] };
}

describe('loadConfig defaults', () => {
  it('starts from an empty environment with safe defaults', () => {
    expect(loadConfig({})).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: '.data',
      hubId: 'coalition-hub',
      operatorIssuer: 'coalition-operator',
      operatorJwks: { keys: [] },
      hubSigningJwk: undefined,
      introspection: true,
      logLevel: 'info',
      counterShards: 8,
    });
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({}).databaseReadUrl).toBeUndefined();
    expect(loadConfig({}).databasePoolSize).toBe(20);
  });

  it('treats an empty variable as unset (e.g. `DATABASE_URL= npm start` uses the embedded database)', () => {
    const empty = {
      PORT: '',
      HOST: '',
      DATABASE_URL: '',
      DATABASE_READ_URL: '',
      DATA_DIR: '',
      HUB_ID: '',
      OPERATOR_ISSUER: '',
      OPERATOR_JWKS: '',
      HUB_SIGNING_JWK: '',
      INTROSPECTION: '',
      LEDGER_COUNTER_SHARDS: '',
      LOG_LEVEL: '',
    };
    expect(loadConfig(empty)).toEqual(loadConfig({}));
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ HOME: '/root', NODE_ENV: 'test' }).port).toBe(4000);
  });
});

describe('loadConfig reads', () => {
  it('every variable it knows', async () => {
    const jwks = await operatorJwks();
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const hubJwk = { ...(await exportJWK(privateKey)), kid: 'hub-1' };
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://hub:secret@db.internal:5432/coalition',
      DATABASE_READ_URL: 'postgres://hub:secret@replica.internal:5432/coalition',
      DATABASE_POOL_SIZE: '8',
      DATA_DIR: '/var/lib/coalition',
      HUB_ID: 'hub-eu-1',
      OPERATOR_ISSUER: 'ops',
      OPERATOR_JWKS: JSON.stringify(jwks),
      HUB_SIGNING_JWK: JSON.stringify(hubJwk),
      INTROSPECTION: 'false',
      LEDGER_COUNTER_SHARDS: '32',
      LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgres://hub:secret@db.internal:5432/coalition',
      databaseReadUrl: 'postgres://hub:secret@replica.internal:5432/coalition',
      databasePoolSize: 8,
      dataDir: '/var/lib/coalition',
      hubId: 'hub-eu-1',
      operatorIssuer: 'ops',
      operatorJwks: jwks,
      hubSigningJwk: hubJwk,
      introspection: false,
      logLevel: 'warn',
      counterShards: 32,
    });
  });

  it.each(['0', '1', '65535'])('PORT %s (the whole valid range)', (port) => {
    expect(loadConfig({ PORT: port }).port).toBe(Number(port));
  });
});

describe('loadConfig refuses, naming the variable', () => {
  it.each([
    ['not a number', 'abc'],
    ['above 65535', '70000'],
    ['negative', '-1'],
    ['fractional', '80.5'],
  ])('a PORT that is %s', (_, port) => {
    expect(() => loadConfig({ PORT: port })).toThrow(/invalid configuration: PORT/);
  });

  it('never turns an empty PORT into port 0 (a random port)', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(4000);
  });

  it('OPERATOR_JWKS with two keys under one kid (one of them would refuse every token it signed)', () => {
    const key = (x: string) => ({ kty: 'OKP', crv: 'Ed25519', x, kid: 'operator-2026-11-26', alg: 'EdDSA' });
    expect(() => loadConfig({ OPERATOR_JWKS: JSON.stringify({ keys: [key('a'), key('b')] }) })).toThrow(
      'OPERATOR_JWKS has two keys with kid operator-2026-11-26',
    );
  });

  it('OPERATOR_JWKS that is not JSON', () => {
    expect(() => loadConfig({ OPERATOR_JWKS: '{"keys": [' })).toThrow('OPERATOR_JWKS is not valid JSON');
  });

  it('HUB_SIGNING_JWK that is not JSON', () => {
    expect(() => loadConfig({ HUB_SIGNING_JWK: 'kty=OKP' })).toThrow('HUB_SIGNING_JWK is not valid JSON');
  });

  it.each([
    ['a bare array of keys', '[]'],
    ['a key without a kid', '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"abc"}]}'],
    ['a key without a kty', '{"keys":[{"kid":"k1"}]}'],
  ])('OPERATOR_JWKS that is JSON but not a JWKS (%s)', (_, jwks) => {
    expect(() => loadConfig({ OPERATOR_JWKS: jwks })).toThrow(/OPERATOR_JWKS/);
  });

  it('HUB_SIGNING_JWK that is only a public key (the hub must be able to sign)', () => {
    expect(() => loadConfig({ HUB_SIGNING_JWK: '{"kty":"OKP","crv":"Ed25519","x":"abc","kid":"hub-1"}' })).toThrow(/HUB_SIGNING_JWK\.d/);
  });

  it('HUB_SIGNING_JWK that is JSON but has no kid', () => {
    expect(() => loadConfig({ HUB_SIGNING_JWK: '{"kty":"OKP","crv":"Ed25519"}' })).toThrow(/HUB_SIGNING_JWK/);
  });

  it.each([
    ['INTROSPECTION', 'yes'],
    ['LOG_LEVEL', 'verbose'],
    ['DATABASE_URL', 'not a url'],
    ['HUB_ID', 'h'.repeat(129)],
    ['LEDGER_COUNTER_SHARDS', '0'],
    ['LEDGER_COUNTER_SHARDS', '65'],
    ['LEDGER_COUNTER_SHARDS', '2.5'],
    ['LEDGER_COUNTER_SHARDS', 'many'],
    ['DATABASE_READ_URL', 'the replica'],
    ['DATABASE_POOL_SIZE', '0'],
  ])('%s=%p', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: .*${name}`));
  });

  it('every bad variable at once, in one message', () => {
    expect(() => loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' })).toThrow(/PORT.*LOG_LEVEL|LOG_LEVEL.*PORT/);
  });
});

describe('rate limits', () => {
  it('are on by default, above what the benchmarks send, and each can be turned off with 0', () => {
    expect(loadConfig({}).rateLimits).toEqual({ partner: { perSecond: 500, burst: 1000 }, address: { perSecond: 1000, burst: 2000 } });
    expect(loadConfig({ RATE_LIMIT_PARTNER_PER_SECOND: '0', RATE_LIMIT_IP_PER_SECOND: '0', RATE_LIMIT_IP_BURST: '0' }).rateLimits).toEqual({
      partner: { perSecond: 0, burst: 1000 },
      address: { perSecond: 0, burst: 0 },
    });
  });

  it.each([
    ['RATE_LIMIT_PARTNER_PER_SECOND', '-1'],
    ['RATE_LIMIT_PARTNER_BURST', '1.5'],
    ['RATE_LIMIT_IP_PER_SECOND', 'lots'],
    ['RATE_LIMIT_IP_BURST', '-5'],
  ])('refuses %s=%p', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: .*${name}`));
  });
});
