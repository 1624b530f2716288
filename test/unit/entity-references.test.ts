import type { Viewer } from '../../src/common/viewer';
import type { MemberEntity, PartnerEntity } from '../../src/db/entities';
import type { RequestContext } from '../../src/graphql/context';
import { EntityReferences } from '../../src/graphql/entity-references';
import type { MemberQueryService } from '../../src/members/member-query.service';
import type { PartnerQueryService } from '../../src/partners/partner-query.service';

/** `_entities` references are batched per request (docs/federation.md): one service call per type and request. */

function fakes() {
  const calls: Array<{ kind: string; viewer: Viewer; ids: readonly string[] }> = [];
  const members = {
    referencesForViewer: async (viewer: Viewer, ids: readonly string[]) => {
      calls.push({ kind: 'member', viewer, ids });
      return ids.map((id) => ({ id }) as MemberEntity);
    },
  } as unknown as MemberQueryService;
  const partners = {
    referencesForViewer: async (viewer: Viewer, ids: readonly string[]) => {
      calls.push({ kind: 'partner', viewer, ids });
      return ids.map((id) => ({ id }) as PartnerEntity);
    },
  } as unknown as PartnerQueryService;
  return { calls, resolvers: new EntityReferences(members, partners).resolvers() };
}

const contextOf = (viewer: Viewer) => ({ viewer }) as RequestContext;

describe('entity references', () => {
  it('resolve every reference of one request in one call per type, with that request’s viewer', async () => {
    const { calls, resolvers } = fakes();
    const context = contextOf({ kind: 'partner', partnerId: 'ACME' });
    const answers = await Promise.all([
      resolvers.Member!({ id: 'm1' }, context),
      resolvers.Partner!({ id: 'ACME' }, context),
      resolvers.Member!({ id: 'm2' }, context),
      resolvers.Member!({ id: 'm1' }, context),
    ]);
    expect(answers).toEqual([{ id: 'm1' }, { id: 'ACME' }, { id: 'm2' }, { id: 'm1' }]);
    expect(calls).toEqual([
      { kind: 'member', viewer: context.viewer, ids: ['m1', 'm2'] },
      { kind: 'partner', viewer: context.viewer, ids: ['ACME'] },
    ]);
  });

  it('never share answers between requests', async () => {
    const { calls, resolvers } = fakes();
    const acme = contextOf({ kind: 'partner', partnerId: 'ACME' });
    const bolt = contextOf({ kind: 'partner', partnerId: 'BOLT' });
    await Promise.all([resolvers.Member!({ id: 'm1' }, acme), resolvers.Member!({ id: 'm1' }, bolt)]);
    expect(calls.map((call) => call.viewer)).toEqual([acme.viewer, bolt.viewer]);
  });

  it('refuse a reference without a string id', async () => {
    const { calls, resolvers } = fakes();
    await expect(resolvers.Member!({ id: 7 }, contextOf({ kind: 'operator', role: 'operator', subject: 'x' }))).rejects.toThrow(
      /key field id/,
    );
    expect(calls).toEqual([]);
  });
});
