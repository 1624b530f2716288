/** Who is asking. Decided once per request from the bearer token; services take it explicitly. */
export type Viewer =
  | { kind: 'anonymous' }
  | { kind: 'operator'; role: 'operator' | 'finance'; subject: string }
  | { kind: 'partner'; partnerId: string }
  | { kind: 'member'; partnerId: string; memberRef: string };

export type Role = 'operator' | 'finance' | 'partner' | 'member';

export function roleOf(viewer: Viewer): Role | null {
  switch (viewer.kind) {
    case 'anonymous':
      return null;
    case 'operator':
      return viewer.role;
    case 'partner':
    case 'member':
      return viewer.kind;
  }
}
