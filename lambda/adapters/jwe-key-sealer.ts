import { CompactEncrypt, importJWK } from 'jose';
import type { KeySealer } from '../domain/ports';

/** The envelope: a compact JWE, ECDH-ES key agreement on X25519, content encrypted with A256GCM (RFC 7516, RFC 8037). */
export const DELIVERY_JWE = { alg: 'ECDH-ES', enc: 'A256GCM', crv: 'X25519' } as const;

export class JweKeySealer implements KeySealer {
  async seal(publicKey: string, payload: Readonly<Record<string, string>>): Promise<string> {
    const key = await importJWK({ kty: 'OKP', crv: DELIVERY_JWE.crv, x: publicKey }, DELIVERY_JWE.alg);
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: DELIVERY_JWE.alg, enc: DELIVERY_JWE.enc, cty: 'keyroll-key+json' }).encrypt(key);
  }
}
