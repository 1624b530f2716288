/** Whoever signs a JWS the hub verifies (a partner, or the operator key set), with its registered keys (src/instructions/verify-signed.ts). */
export interface SignerKey {
  kid: string;
  alg: string;
  status: 'active' | 'revoked';
  publicJwk: Record<string, unknown>;
}

export interface Signer {
  id: string;
  suspended: boolean;
  keys: ReadonlyMap<string, SignerKey>;
}

export type SignerLookup = (issuer: string) => Promise<Signer | null>;
