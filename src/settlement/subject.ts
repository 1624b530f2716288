import type { Viewer } from '../common/viewer';

/** Who did it, for the record (closed_by, resolved_by): `finance:alice`, `operator:ops-1`, `partner:ACME`. */
export function subjectOf(viewer: Viewer): string {
  switch (viewer.kind) {
    case 'operator':
      return `${viewer.role}:${viewer.subject}`;
    case 'partner':
      return `partner:${viewer.partnerId}`;
    case 'member':
      return `member:${viewer.partnerId}:${viewer.memberRef}`;
    case 'anonymous':
      return 'anonymous';
  }
}
