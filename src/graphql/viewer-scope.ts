import { assert } from '../common/assert';
import type { Viewer } from '../common/viewer';

/** The partner behind a partner token; callers are guarded by @Authorized('partner'). */
export function partnerIdOf(viewer: Viewer): string {
  assert(viewer.kind === 'partner', 'guarded by @Authorized("partner")');
  return viewer.partnerId;
}
