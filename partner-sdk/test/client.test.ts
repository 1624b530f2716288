import { createLocalJWKSet, decodeJwt, importJWK, jwtVerify } from 'jose';
import {
  ACCESS_TOKEN_TYP,
  generatePartnerKey,
  HubRequestError,
  PartnerClient,
  ReceiptVerificationError,
  requestHash,
  signInstruction,
  type PartnerKey,
} from '../src';
import {
  BASE_URL,
  createHubKey,
  fakeFetch,
  fakeLedger,
  HUB_ID,
  issueReceiptClaims,
  PARTNER_ID,
  signReceipt,
  type HubKey,
  type Responder,
} from './fake-hub';

let hub: HubKey;
let partnerKey: PartnerKey;
beforeAll(async () => {
  hub = await createHubKey();
  partnerKey = await generatePartnerKey();
});

function clientFor(respond: Responder) {
  const fake = fakeFetch(hub, respond);
  const client = new PartnerClient({ baseUrl: `${BASE_URL}/`, hubId: HUB_ID, partnerId: PARTNER_ID, key: partnerKey, fetch: fake.fetch });
  return { client, ...fake };
}

function withLedger() {
  const ledger = fakeLedger(hub, partnerKey);
  return { ...clientFor(ledger.respond), ledger };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('PartnerClient writes', () => {
  it('issues points: posts the signed instruction to /graphql and returns the verified receipt', async () => {
    const { client, calls } = withLedger();
    const outcome = await client.issuePoints({ member: 'cust-42', amount: 150n, orderRef: 'ord-1' }, { jti: 'order-1' });

    expect(outcome).toMatchObject({
      ok: true,
      typename: 'IssueReceipt',
      jti: 'order-1',
      data: { jti: 'order-1', entryId: 'ent_1', memberId: 'mbr_01', amount: '150', balance: '1150', replayed: false },
      receipt: { iss: HUB_ID, aud: PARTNER_ID, op: 'issue', jti: 'order-1', entryId: 'ent_1', amount: '150', balance: '1150' },
    });
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.url).toBe(`${BASE_URL}/graphql`);
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.headers.authorization).toBeUndefined();
    expect(call?.query).toContain('issuePoints(instruction: $instruction)');
    expect(call?.query).toContain('... on ErrorResult { errorCode message }');
    expect(decodeJwt(String(call?.variables.instruction))).toMatchObject({ op: 'issue', member: 'cust-42', amount: '150', jti: 'order-1' });
  });

  it('enrolls a member and returns the verified enroll receipt', async () => {
    const { client, calls } = withLedger();
    const outcome = await client.enrollMember({ member: 'cust-42' });
    expect(outcome).toMatchObject({
      ok: true,
      typename: 'EnrollReceipt',
      data: { memberRef: 'cust-42', linkedExisting: false },
      receipt: { op: 'enroll' },
    });
    expect(calls[0]?.query).toContain('enrollMember(instruction: $instruction)');
  });

  it('redeems points and returns which partners’ points were consumed', async () => {
    const { client } = withLedger();
    const outcome = await client.redeemPoints({ member: 'cust-42', amount: '300' });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.typename).toBe('RedeemReceipt');
    expect(outcome.data.consumed).toEqual([{ issuerPartnerId: PARTNER_ID, amount: '300' }]);
    expect(outcome.receipt).toMatchObject({ op: 'redeem', amount: '300', balance: '700' });
  });

  it('returns a declined operation (an ErrorResult) as ok: false with its errorCode', async () => {
    const { client } = withLedger();
    const outcome = await client.redeemPoints({ member: 'cust-42', amount: '5000' }, { jti: 'order-big' });
    expect(outcome).toEqual({
      ok: false,
      typename: 'InsufficientBalance',
      errorCode: 'INSUFFICIENT_BALANCE',
      message: 'balance is 1000',
      jti: 'order-big',
    });
  });

  it('rejects a bad amount locally, without contacting the hub', async () => {
    const { client, calls } = withLedger();
    await expect(client.issuePoints({ member: 'cust-42', amount: 1.5 as unknown as bigint })).rejects.toThrow(TypeError);
    await expect(client.issuePoints({ member: 'cust-42', amount: '0' })).rejects.toThrow(TypeError);
    expect(calls).toHaveLength(0);
  });

  it('fetches the hub keys through the injected fetch once and reuses them', async () => {
    const { client, jwksFetches } = withLedger();
    await client.issuePoints({ member: 'cust-42', amount: '1' });
    await client.issuePoints({ member: 'cust-42', amount: '2' });
    expect(jwksFetches()).toBe(1);
  });

  it('uses pinned hub keys when given, without fetching the JWKS', async () => {
    const ledger = fakeLedger(hub, partnerKey);
    const fake = fakeFetch(hub, ledger.respond);
    const client = new PartnerClient({
      baseUrl: BASE_URL,
      hubId: HUB_ID,
      partnerId: PARTNER_ID,
      key: partnerKey,
      fetch: fake.fetch,
      jwks: hub.jwks,
    });
    expect((await client.issuePoints({ member: 'cust-42', amount: '1' })).ok).toBe(true);
    expect(fake.jwksFetches()).toBe(0);
  });
});

describe('PartnerClient never returns an unproven success', () => {
  /** A hub answering every issue with a success whose receipt claims are built by `receiptClaims`. */
  function issueWith(
    receiptClaims: (jws: string) => Record<string, unknown>,
    signer?: HubKey,
    dataOverrides: Record<string, unknown> = {},
  ) {
    const { client } = clientFor(async ({ variables }) => {
      const jws = String(variables.instruction);
      const receipt = await signReceipt(signer ?? hub, receiptClaims(jws));
      const { jti } = decodeJwt(jws);
      return {
        data: {
          result: {
            __typename: 'IssueReceipt',
            jti,
            entryId: 'ent_01',
            memberId: 'mbr_01',
            amount: '150',
            balance: '1150',
            receipt,
            replayed: false,
            recordedAt: '2025-03-01T10:00:00Z',
            ...dataOverrides,
          },
        },
      };
    });
    return client.issuePoints({ member: 'cust-42', amount: '150' }, { jti: 'order-1001' });
  }

  const hashOf = (jws: string) => requestHash(decodeJwt(jws));

  it('accepts a response whose receipt matches the instruction sent (control)', async () => {
    await expect(issueWith((jws) => issueReceiptClaims({ requestHash: hashOf(jws) }))).resolves.toMatchObject({ ok: true });
  });

  it('rejects a receipt whose requestHash is not that of the instruction sent', async () => {
    const error = await caught(issueWith(() => issueReceiptClaims()));
    expect(error).toBeInstanceOf(ReceiptVerificationError);
    expect(error).toMatchObject({ claim: 'requestHash', jti: 'order-1001' });
  });

  it('rejects a receipt signed by a key the hub does not publish', async () => {
    const rogue = await createHubKey('rogue');
    const error = await caught(issueWith((jws) => issueReceiptClaims({ requestHash: hashOf(jws) }), rogue));
    expect(error).toMatchObject({ constructor: ReceiptVerificationError, reason: 'unknown-key' });
  });

  it('rejects a receipt for another jti', async () => {
    const error = await caught(issueWith((jws) => issueReceiptClaims({ requestHash: hashOf(jws), jti: 'order-9' })));
    expect(error).toMatchObject({ constructor: ReceiptVerificationError, claim: 'jti' });
  });

  it.each([
    ['amount', '15000'],
    ['balance', '999999'],
    ['recordedAt', '2030-01-01T00:00:00Z'],
  ])('rejects a returned %s that disagrees with the signed receipt', async (claim, value) => {
    const error = await caught(issueWith((jws) => issueReceiptClaims({ requestHash: hashOf(jws) }), undefined, { [claim]: value }));
    expect(error).toMatchObject({ constructor: ReceiptVerificationError, claim });
  });
});

describe('PartnerClient request errors', () => {
  it('throws HubRequestError with the GraphQL error code when the hub refuses the request', async () => {
    const { client } = clientFor(() => ({
      errors: [{ message: 'instruction signature is invalid', extensions: { code: 'UNAUTHENTICATED' } }],
      data: null,
    }));
    const error = await caught(client.issuePoints({ member: 'cust-42', amount: '1' }, { jti: 'order-7' }));
    expect(error).toBeInstanceOf(HubRequestError);
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', message: 'instruction signature is invalid', jti: 'order-7', status: 200 });
  });

  it('throws HubRequestError for a GraphQL error on a 4xx answer, keeping the status', async () => {
    const { client } = clientFor(
      () => new Response(JSON.stringify({ errors: [{ message: 'bad', extensions: { code: 'BAD_USER_INPUT' } }] }), { status: 400 }),
    );
    await expect(client.enrollMember({ member: 'c' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
  });

  it('throws HubRequestError HTTP_ERROR for a non-2xx answer without a GraphQL body', async () => {
    const { client } = clientFor(() => new Response('<html>Bad Gateway</html>', { status: 502 }));
    await expect(client.issuePoints({ member: 'c', amount: '1' })).rejects.toMatchObject({
      constructor: HubRequestError,
      code: 'HTTP_ERROR',
      status: 502,
    });
  });

  it('throws HubRequestError NETWORK_ERROR, naming the jti to retry with, when the hub cannot be reached', async () => {
    const { client } = clientFor(() => {
      throw new TypeError('fetch failed');
    });
    await expect(client.issuePoints({ member: 'c', amount: '1' }, { jti: 'order-8' })).rejects.toMatchObject({
      constructor: HubRequestError,
      code: 'NETWORK_ERROR',
      jti: 'order-8',
    });
  });

  it('throws HubRequestError BAD_RESPONSE for a result that is neither a receipt nor an ErrorResult', async () => {
    const { client } = clientFor(() => ({ data: { result: { __typename: 'Mystery' } } }));
    await expect(client.issuePoints({ member: 'c', amount: '1' })).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });
});

describe('PartnerClient retries', () => {
  it('resending the same signed instruction returns the original receipt, verified', async () => {
    const { client } = withLedger();
    const signed = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: HUB_ID,
      key: partnerKey,
      op: 'issue',
      fields: { member: 'c', amount: '150' },
    });
    const first = await client.submitSigned('issue', signed.jws);
    const again = await client.submitSigned('issue', signed.jws);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.data.replayed).toBe(true);
    expect(again.data.receipt).toBe(first.data.receipt);
    expect(again.receipt.balance).toBe('1150');
  });

  it('re-signing with the same jti and fields (after the first expired) yields the same receipt', async () => {
    const { client } = withLedger();
    const first = await client.issuePoints({ member: 'c', amount: '150' }, { jti: 'order-1' });
    const retry = await client.issuePoints({ member: 'c', amount: 150n }, { jti: 'order-1', lifetimeSeconds: 30 });
    expect(retry).toMatchObject({ ok: true, data: { replayed: true } });
    expect(first.ok && retry.ok && retry.data.receipt === first.data.receipt).toBe(true);
  });

  it('refuses to send an instruction that is not this partner’s, not for this hub, or for another op', async () => {
    const { client, calls } = withLedger();
    const other = await signInstruction({
      partnerId: 'other',
      hubId: HUB_ID,
      key: partnerKey,
      op: 'issue',
      fields: { member: 'c', amount: '1' },
    });
    const elsewhere = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: 'other-hub',
      key: partnerKey,
      op: 'issue',
      fields: { member: 'c', amount: '1' },
    });
    const issue = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: HUB_ID,
      key: partnerKey,
      op: 'issue',
      fields: { member: 'c', amount: '1' },
    });
    await expect(client.submitSigned('issue', other.jws)).rejects.toThrow(TypeError);
    await expect(client.submitSigned('issue', elsewhere.jws)).rejects.toThrow(TypeError);
    await expect(client.submitSigned('redeem', issue.jws)).rejects.toThrow(TypeError);
    await expect(client.submitSigned('issue', 'garbage')).rejects.toThrow(TypeError);
    expect(calls).toHaveLength(0);
  });
});

describe('PartnerClient reads', () => {
  it('fetchReceipt asks instructionReceipt with a partner bearer token and verifies the receipt', async () => {
    const ledger = fakeLedger(hub, partnerKey);
    const { client, calls } = clientFor(async (call) => {
      if (call.query.includes('instructionReceipt')) {
        const stored = ledger.receipts.get(String(call.variables.jti));
        return {
          data: {
            instructionReceipt: stored
              ? { jti: stored.jti, op: 'issue', entryId: stored.entryId, receipt: stored.receipt, receivedAt: '2025-03-01T10:00:00Z' }
              : null,
          },
        };
      }
      return ledger.respond(call);
    });
    const issued = await client.issuePoints({ member: 'c', amount: '150' }, { jti: 'order-1' });

    const fetched = await client.fetchReceipt('order-1');
    expect(fetched?.receipt).toMatchObject({ jti: 'order-1', op: 'issue', amount: '150' });
    expect(issued.ok && fetched?.data.receipt === issued.data.receipt).toBe(true);

    const read = calls[1];
    expect(read?.variables).toEqual({ jti: 'order-1' });
    const token = String(read?.headers.authorization).replace(/^Bearer /, '');
    const { payload } = await jwtVerify(token, await importJWK(partnerKey.publicJwk, 'EdDSA'), { typ: ACCESS_TOKEN_TYP, audience: HUB_ID });
    expect(payload).toMatchObject({ iss: PARTNER_ID, sub: PARTNER_ID, scope: 'partner' });

    expect(await client.fetchReceipt('never-sent')).toBeNull();
  });

  it('fetchReceipt rejects a receipt that is not for the requested jti', async () => {
    const receipt = await signReceipt(hub, issueReceiptClaims({ jti: 'order-2' }));
    const { client } = clientFor(() => ({
      data: { instructionReceipt: { jti: 'order-1', op: 'issue', entryId: 'e', receipt, receivedAt: 'x' } },
    }));
    await expect(client.fetchReceipt('order-1')).rejects.toMatchObject({ constructor: ReceiptVerificationError, claim: 'jti' });
  });

  it('memberToken vouches for a member: iss = partner, sub = member reference, scope member', async () => {
    const { client } = clientFor(() => ({ data: {} }));
    const token = await client.memberToken('cust-42', 120);
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [partnerKey.publicJwk] }), {
      typ: ACCESS_TOKEN_TYP,
      audience: HUB_ID,
      issuer: PARTNER_ID,
    });
    expect(payload).toMatchObject({ sub: 'cust-42', scope: 'member' });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(120);
  });

  it('graphql() posts any document with the given bearer token and returns data', async () => {
    const { client, calls } = clientFor(() => ({ data: { member: { balance: '1150' } } }));
    const token = await client.accessToken(60);
    const data = await client.graphql<{ member: { balance: string } }>(
      'query($ref: String!) { member(ref: $ref) { balance } }',
      { ref: 'c' },
      { token },
    );
    expect(data.member.balance).toBe('1150');
    expect(calls[0]?.headers.authorization).toBe(`Bearer ${token}`);
    expect(calls[0]?.variables).toEqual({ ref: 'c' });
  });

  it('graphql() throws HubRequestError on errors, e.g. FORBIDDEN', async () => {
    const { client } = clientFor(() => ({ errors: [{ message: 'not yours', extensions: { code: 'FORBIDDEN' } }], data: null }));
    await expect(client.graphql('{ x }')).rejects.toMatchObject({ constructor: HubRequestError, code: 'FORBIDDEN' });
  });
});
