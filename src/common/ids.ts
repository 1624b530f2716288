import { randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

/** Opaque cursors for keyset pagination: `v1:<key>` in base64url. */
export function encodeCursor(key: string | bigint): string {
  return Buffer.from(`v1:${key.toString()}`).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): string | null {
  if (cursor === null || cursor === undefined) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  return text.startsWith('v1:') ? text.slice(3) : null;
}
