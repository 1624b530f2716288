import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { TestHub, type GraphqlResponse, type TestPartner } from '../helpers/test-hub';
import { errorCodes } from './support/http';

/**
 * The hub as a Federation 2 subgraph (docs/federation.md): `_entities` answers a reference to a
 * Member or a Partner exactly as member(id) / me / partner(id) would answer the same caller, it
 * needs a token, it is bounded; `_service { sdl }` is the committed schema; PageInfo is Relay's.
 */

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let annId: string;
let bobId: string;

const MEMBER_ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Member { id balance } } }`;
const PARTNER_ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Partner { id name } } }`;
const members = (...ids: string[]) => ({ representations: ids.map((id) => ({ __typename: 'Member', id })) });
const partners = (...ids: string[]) => ({ representations: ids.map((id) => ({ __typename: 'Partner', id })) });

/** The error codes of the response, by the index of the representation they belong to. */
function errorsByIndex(response: GraphqlResponse): Record<number, unknown> {
  return Object.fromEntries((response.errors ?? []).map((error) => [Number(error.path?.[1]), error.extensions?.code]));
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  const ann = await acme.client.enrollMember({ member: 'ann' });
  const bob = await bolt.client.enrollMember({ member: 'bob' });
  const issued = await acme.client.issuePoints({ member: 'ann', amount: '120' });
  const issuedBob = await bolt.client.issuePoints({ member: 'bob', amount: '30' });
  if (!ann.ok || !bob.ok || !issued.ok || !issuedBob.ok) throw new Error('fixture set-up failed');
  annId = ann.data.memberId;
  bobId = bob.data.memberId;
});

afterAll(() => hub.stop());

describe('_entities resolves members with the authorization of member(id)', () => {
  it('refuses a call without a token as UNAUTHENTICATED, resolving nothing', async () => {
    const response = await hub.graphql(MEMBER_ENTITIES, members(annId));
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.data ?? null).toBeNull();
  });

  it("gives a partner its own member and FORBIDDEN for another partner's, as member(id) does", async () => {
    const token = await acme.client.accessToken();
    const response = await hub.graphql(MEMBER_ENTITIES, members(annId, bobId, randomUUID()), token);
    expect(response.data?._entities).toEqual([{ id: annId, balance: '120' }, null, null]);
    expect(errorsByIndex(response)).toEqual({ 1: 'FORBIDDEN', 2: 'FORBIDDEN' });
    const direct = await hub.graphql('query($id: ID!) { member(id: $id) { id balance } }', { id: bobId }, token);
    expect(errorCodes(direct)).toEqual(['FORBIDDEN']);
  });

  it('gives a member token only its own member, as me does', async () => {
    const token = await hub.memberToken(acme, 'ann');
    const response = await hub.graphql(MEMBER_ENTITIES, members(bobId, annId), token);
    expect(response.data?._entities).toEqual([null, { id: annId, balance: '120' }]);
    expect(errorsByIndex(response)).toEqual({ 0: 'FORBIDDEN' });
  });

  it('gives operators and finance every member, and null for an id nobody has', async () => {
    const token = await hub.operatorToken('finance');
    const response = await hub.graphql(MEMBER_ENTITIES, members(annId, bobId, randomUUID()), token);
    expect(response.errors).toBeUndefined();
    expect(response.data?._entities).toEqual([{ id: annId, balance: '120' }, { id: bobId, balance: '30' }, null]);
  });
});

describe('_entities resolves partners with the authorization of partner(id)', () => {
  it('gives a partner only itself', async () => {
    const response = await hub.graphql(PARTNER_ENTITIES, partners('BOLT', 'ACME'), await acme.client.accessToken());
    expect(response.data?._entities).toEqual([null, { id: 'ACME', name: 'ACME Ltd' }]);
    expect(errorsByIndex(response)).toEqual({ 0: 'FORBIDDEN' });
  });

  it('gives a member token no partner, as partner(id) does', async () => {
    const response = await hub.graphql(PARTNER_ENTITIES, partners('ACME'), await hub.memberToken(acme, 'ann'));
    expect(errorsByIndex(response)).toEqual({ 0: 'FORBIDDEN' });
  });

  it('gives operators every partner', async () => {
    const response = await hub.graphql(PARTNER_ENTITIES, partners('ACME', 'BOLT', 'NOPE'), await hub.operatorToken());
    expect(response.data?._entities).toEqual([{ id: 'ACME', name: 'ACME Ltd' }, { id: 'BOLT', name: 'BOLT Ltd' }, null]);
  });
});

describe('_entities is bounded', () => {
  it('refuses more representations than a page holds, before resolving any', async () => {
    const response = await hub.graphql(MEMBER_ENTITIES, members(...Array.from({ length: 101 }, () => annId)), await hub.operatorToken());
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_MANY_REPRESENTATIONS', limit: 100 });
    expect(response.data?._entities ?? null).toBeNull();
  });

  it('refuses a representation of a type that is no entity, resolving none', async () => {
    const response = await hub.graphql(
      MEMBER_ENTITIES,
      {
        representations: [
          { __typename: 'Member', id: annId },
          { __typename: 'JournalEntry', id: '1' },
        ],
      },
      await hub.operatorToken(),
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.data?._entities ?? null).toBeNull();
  });

  it('counts each representation in the query cost, so a list of deep selections is refused before it runs', async () => {
    const response = await hub.graphql(
      `query($representations: [_Any!]!) { _entities(representations: $representations) {
        ... on Member { history(first: 20) { edges { node { id } } } } } }`,
      members(...Array.from({ length: 40 }, () => annId)),
      await hub.operatorToken(),
    );
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_COST' });
  });
});

describe('PageInfo is Relay-complete', () => {
  it('says whether there are pages before and after, with the first and last cursors', async () => {
    const token = await hub.operatorToken();
    const PAGE = `query($after: String) { members(first: 1, after: $after) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const first = (await hub.graphql(PAGE, {}, token)).data?.members;
    expect(first.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: first.edges[0].cursor,
      endCursor: first.edges[0].cursor,
    });
    const second = (await hub.graphql(PAGE, { after: first.pageInfo.endCursor }, token)).data?.members;
    expect(second.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: second.edges[0].cursor,
      endCursor: second.edges[0].cursor,
    });
    const past = (await hub.graphql(PAGE, { after: second.pageInfo.endCursor }, token)).data?.members;
    expect(past).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null } });
  });
});

// Last: it restarts the hub with introspection off.
describe('_service', () => {
  it('answers operators with the committed subgraph SDL (schema/schema.graphql)', async () => {
    const response = await hub.graphql('{ _service { sdl } }', {}, await hub.operatorToken());
    const committed = readFileSync(join(__dirname, '..', '..', 'schema', 'schema.graphql'), 'utf8');
    expect(`${response.data?._service.sdl}\n`).toBe(committed);
    expect(committed).toContain('type Member\n  @key(fields: "id")');
    expect(committed).toContain('type PageInfo\n  @shareable');
  });

  it('answers anyone while introspection is on, and only operators and finance while it is off', async () => {
    expect((await hub.graphql('{ _service { sdl } }')).data?._service.sdl).toContain('type Member');
    await hub.restart({ INTROSPECTION: 'false' });
    expect(errorCodes(await hub.graphql('{ _service { sdl } }'))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await hub.graphql('{ _service { sdl } }', {}, await acme.client.accessToken()))).toEqual(['FORBIDDEN']);
    expect((await hub.graphql('{ _service { sdl } }', {}, await hub.operatorToken('finance'))).data?._service.sdl).toContain('type Member');
  });
});
