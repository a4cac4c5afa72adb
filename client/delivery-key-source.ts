import { compactDecrypt, exportJWK, generateKeyPair, importJWK } from 'jose';
import { isSecureUrlText, SECURE_URL_EXPECTATION } from '../lambda/contracts/secure-urls';
import { KeySourceError, type CurrentKey, type KeySource } from './key-source';

/** The delivery envelope keyroll uses: ECDH-ES on X25519, A256GCM (a compact JWE); nothing else is opened. */
const ALGORITHM = 'ECDH-ES';
const CONTENT_ENCRYPTION = 'A256GCM';

/**
 * A JSON Web Key (RFC 7517), as `generateDeliveryKeyPair` makes the private half: `{ kty: 'OKP', crv: 'X25519',
 * x, d }`. Declared here rather than taken from jose, which the package bundles and does not install.
 */
export interface DeliveryPrivateKey {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly d?: string;
  readonly alg?: string;
  readonly kid?: string;
  readonly use?: string;
  readonly ext?: boolean;
  readonly key_ops?: string[];
}

export interface DeliveryKeySourceOptions {
  /** The install's key delivery URL (the construct's `deliveryUrl` output). */
  readonly url: string;
  readonly clientId: string;
  /** The private half of the key pair whose public half the operator registered for this client. */
  readonly privateKey: DeliveryPrivateKey;
  /** A key of this client still inside its window: the first key, handed over by the operator. */
  readonly initialKey: string;
  /** The key header of the install. Default `x-api-key`. */
  readonly header?: string;
  readonly fetch?: typeof fetch;
}

/**
 * The key from keyroll's key delivery route, for clients outside AWS: `GET <url>/v1/clients/<id>/key` with the
 * key the source last had, answered with the current key encrypted to the client's public key. The source
 * keeps the last key it received to ask for the next one; once every key it had has ended, only the operator
 * can hand over a new one.
 */
export class DeliveryKeySource implements KeySource {
  readonly description: string;
  private lastKey: string;
  /** The versions this source has handed out before the current one: a delivery of one of them is a replay. */
  private readonly replacedVersionIds = new Set<string>();
  private current: { readonly versionId: string; readonly issuedAtMs: number } | undefined;

  constructor(private readonly options: DeliveryKeySourceOptions) {
    // The request carries a key of the client: it goes over https only (http only to this machine, for local mode).
    if (!isSecureUrlText(options.url)) throw new KeySourceError(`key delivery for ${options.clientId}: the delivery URL must be ${SECURE_URL_EXPECTATION}`);
    this.description = `key delivery for ${options.clientId}`;
    this.lastKey = options.initialKey;
  }

  async currentKey(): Promise<CurrentKey> {
    const header = (this.options.header ?? 'x-api-key').toLowerCase();
    const response = await (this.options.fetch ?? fetch)(`${this.options.url.replace(/\/$/, '')}/v1/clients/${encodeURIComponent(this.options.clientId)}/key`, {
      headers: { [header]: header === 'authorization' ? `Bearer ${this.lastKey}` : this.lastKey },
      // A redirect would carry the key elsewhere.
      redirect: 'manual',
    });
    const body = await response.text();
    if (!response.ok) {
      const code = safeErrorCode(body);
      throw new KeySourceError(`${this.description}: the delivery route answered ${response.status}${code === undefined ? '' : ` (${code})`}`);
    }
    let payload: Record<string, unknown>;
    try {
      const { plaintext } = await compactDecrypt(body, await importJWK(this.options.privateKey, ALGORITHM), {
        keyManagementAlgorithms: [ALGORITHM],
        contentEncryptionAlgorithms: [CONTENT_ENCRYPTION],
      });
      payload = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, unknown>;
    } catch {
      throw new KeySourceError(`${this.description}: the delivered envelope cannot be opened with this private key (ECDH-ES, A256GCM)`);
    }
    const { clientId, versionId, apiKey, issuedAt } = payload;
    const issuedAtMs = typeof issuedAt === 'string' ? Date.parse(issuedAt) : Number.NaN;
    if (clientId !== this.options.clientId || typeof versionId !== 'string' || typeof apiKey !== 'string' || Number.isNaN(issuedAtMs)) {
      throw new KeySourceError(`${this.description}: the delivered envelope is not a key of this client`);
    }
    // A replayed envelope would hand back a key the client has moved on from.
    if (this.replacedVersionIds.has(versionId) || (this.current !== undefined && issuedAtMs < this.current.issuedAtMs)) {
      throw new KeySourceError(`${this.description}: the delivered key (version ${versionId}) is older than the one this source holds`);
    }
    if (this.current !== undefined && this.current.versionId !== versionId) this.replacedVersionIds.add(this.current.versionId);
    this.current = { versionId, issuedAtMs };
    this.lastKey = apiKey;
    return { key: apiKey, versionId };
  }
}

/**
 * Makes a client's delivery key pair: `publicKey` (base64url, 43 characters) goes to the operator, who registers
 * it for the client; `privateKey` (a JWK) stays with the client, as secret as its API keys.
 */
export async function generateDeliveryKeyPair(): Promise<{ readonly publicKey: string; readonly privateKey: DeliveryPrivateKey }> {
  const pair = await generateKeyPair(ALGORITHM, { crv: 'X25519', extractable: true });
  const [publicJwk, privateJwk] = await Promise.all([exportJWK(pair.publicKey), exportJWK(pair.privateKey)]);
  if (publicJwk.x === undefined) throw new Error('the generated public key has no x');
  return { publicKey: publicJwk.x, privateKey: privateJwk };
}

function safeErrorCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: unknown }).error;
    return typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
