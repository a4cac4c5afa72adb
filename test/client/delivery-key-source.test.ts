import { CompactEncrypt, importJWK } from 'jose';
import { DeliveryKeySource, generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { KeySourceError } from '../../client/key-source';
import { JweKeySealer } from '../../lambda/adapters/jwe-key-sealer';
import { isDeliveryPublicKey } from '../../lambda/domain/client-settings';

/** A delivery route that answers whatever envelope the test gives it. */
function routeAnswering(envelopes: string[]): typeof fetch {
  return (async () => new Response(envelopes.shift() ?? '', { status: 200 })) as unknown as typeof fetch;
}

describe('Class: DeliveryKeySource', () => {
  const sealer = new JweKeySealer();
  const payload = (versionId: string, issuedAt: string) => ({ clientId: 'acme', versionId, apiKey: `kr_key_of_${versionId}`, issuedAt });

  it('refuses a delivery URL that is not https: the request carries a key of the client', async () => {
    const { privateKey } = await generateDeliveryKeyPair();
    expect(() => new DeliveryKeySource({ url: 'http://keys.example.com/', clientId: 'acme', privateKey, initialKey: 'kr_x' })).toThrow(KeySourceError);
    expect(() => new DeliveryKeySource({ url: 'http://127.0.0.1:9000/', clientId: 'acme', privateKey, initialKey: 'kr_x' })).not.toThrow();
  });

  it('opens only ECDH-ES with A256GCM: an envelope with another algorithm is refused', async () => {
    const pair = await generateDeliveryKeyPair();
    const key = await importJWK({ kty: 'OKP', crv: 'X25519', x: pair.publicKey }, 'ECDH-ES+A256KW');
    const other = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload('v1', '2026-12-01T00:00:00Z')))).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A128CBC-HS256' }).encrypt(key);
    const source = new DeliveryKeySource({ url: 'https://keys.example.com/', clientId: 'acme', privateKey: pair.privateKey, initialKey: 'kr_x', fetch: routeAnswering([other]) });
    await expect(source.currentKey()).rejects.toThrow('cannot be opened');
  });

  it('refuses a replayed envelope: a version it moved on from, or one issued before the key it holds', async () => {
    const pair = await generateDeliveryKeyPair();
    const envelopes = await Promise.all([
      sealer.seal(pair.publicKey, payload('v1', '2026-12-01T00:00:00Z')),
      sealer.seal(pair.publicKey, payload('v2', '2026-12-02T00:00:00Z')),
      sealer.seal(pair.publicKey, payload('v1', '2026-12-03T00:00:00Z')),
      sealer.seal(pair.publicKey, payload('v2', '2026-12-01T12:00:00Z')),
      sealer.seal(pair.publicKey, payload('v2', '2026-12-04T00:00:00Z')),
    ]);
    const source = new DeliveryKeySource({ url: 'https://keys.example.com/', clientId: 'acme', privateKey: pair.privateKey, initialKey: 'kr_x', fetch: routeAnswering(envelopes) });
    await expect(source.currentKey()).resolves.toEqual({ key: 'kr_key_of_v1', versionId: 'v1' });
    await expect(source.currentKey()).resolves.toEqual({ key: 'kr_key_of_v2', versionId: 'v2' });
    await expect(source.currentKey()).rejects.toThrow('older than the one this source holds');
    await expect(source.currentKey()).rejects.toThrow('older than the one this source holds');
    await expect(source.currentKey()).resolves.toEqual({ key: 'kr_key_of_v2', versionId: 'v2' });
  });
});

describe('Function: isDeliveryPublicKey', () => {
  it('accepts the public half of a generated pair', async () => {
    expect(isDeliveryPublicKey((await generateDeliveryKeyPair()).publicKey)).toBe(true);
  });

  it.each([
    ['zero', '0000000000000000000000000000000000000000000000000000000000000000'],
    ['one', '0100000000000000000000000000000000000000000000000000000000000000'],
    ['a point of order 8', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
    ['another point of order 8', '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157'],
    ['p - 1', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
  ])('refuses a low-order point (%s), which would agree the same secret with every private key', (_label, hex) => {
    const x = Buffer.from(hex, 'hex').toString('base64url');
    expect(x).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isDeliveryPublicKey(x)).toBe(false);
  });
});
