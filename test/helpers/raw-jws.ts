import { webcrypto } from 'node:crypto';
import type { CryptoKey } from 'jose';

/**
 * A compact JWS over header and payload *text* exactly as given, signed with an EdDSA (Ed25519)
 * key: for the JSON a library would never write (duplicate member names, escapes, odd bytes).
 * The signature is real, so only the hub's reading of the text can refuse it.
 */
export async function signRawText(
  headerText: string | Uint8Array,
  payloadText: string | Uint8Array,
  privateKey: CryptoKey,
): Promise<string> {
  const segment = (text: string | Uint8Array) =>
    Buffer.from(typeof text === 'string' ? Buffer.from(text, 'utf8') : text).toString('base64url');
  const signingInput = `${segment(headerText)}.${segment(payloadText)}`;
  const signature = await webcrypto.subtle.sign({ name: 'Ed25519' }, privateKey as webcrypto.CryptoKey, Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}
