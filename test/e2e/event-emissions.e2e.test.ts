import { generatePartnerKey, hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { eventsOfAction, type StoredEvent } from './support/events';

/**
 * Every operation writes exactly the events docs/events.md lists for it — type, scope (partner),
 * member and data — in its own transaction; a refused or replayed instruction writes none.
 * The steps run in order on one hub: each one's expected events are computed from what the
 * operation answered.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let prep: TestPartner;

const QUOTE = `query($from: String!, $to: String!, $amount: Amount!) { quoteExchange(from: $from, to: $to, amount: $amount) {
  __typename ... on ExchangeQuote { quote } ... on ErrorResult { errorCode message } } }`;
const EXCHANGE = `mutation($quote: String!) { exchangePoints(quote: $quote) {
  __typename ... on ExchangeReceipt { quoteId entryId amountIn amountOut cpAmount residualCp fromBalance toBalance }
  ... on ErrorResult { errorCode message } } }`;
const CURRENT = '{ currentSettlementPeriod { id } }';
const CLOSE = 'mutation($id: ID!) { closeSettlementPeriod(id: $id) { __typename } }';
const STATEMENTS = `query($period: ID) { statements(periodId: $period, first: 10) { edges { node {
  id periodId partnerId currency lineCount netMinor digest } } } }`;
const RESOLVE = `mutation($id: ID!, $adj: Amount!, $note: String!) { resolveDispute(disputeId: $id, adjustmentMinor: $adj, note: $note) {
  __typename ... on StatementDispute { adjustmentEntryId } } }`;
const RECORD = `mutation($id: ID!, $amount: Amount!, $ref: String!) { recordPartnerFunding(partnerId: $id, amountMinor: $amount, reference: $ref) {
  __typename ... on FundingRecorded { entryId } } }`;

type Expected = Omit<StoredEvent, 'seq'>;

async function accepted<T extends { ok: boolean }>(outcome: Promise<T>): Promise<any> {
  const result = await outcome;
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result;
}

async function staff(query: string, variables: Record<string, unknown> = {}, scope: 'operator' | 'finance' = 'finance') {
  return hub.asStaff<Record<string, any>>(query, variables, scope);
}

/** Events in a stable order for comparing: one transaction's events by type, scope, member and amount. */
const sorted = (events: Expected[]) => [...events].sort((a, b) => key(a).localeCompare(key(b)));
const key = (event: Expected) => `${event.type}|${event.partnerId}|${event.memberId}|${event.data.amount}`;

async function expectEvents(action: () => Promise<Expected[] | (() => Expected[])>): Promise<void> {
  const answer: { expected?: Expected[] | (() => Expected[]) } = {};
  const written = await eventsOfAction(hub, async () => {
    answer.expected = await action();
  });
  const wanted = typeof answer.expected === 'function' ? answer.expected() : (answer.expected ?? []);
  expect(sorted(written.map(({ seq: _seq, ...event }) => event))).toEqual(sorted(wanted));
}

const event = (type: string, partnerId: string, memberId: string | null, data: Record<string, unknown>): Expected => ({
  type,
  partnerId,
  memberId,
  data,
});

let amy: string; // the member's hub id
let ben: string;
let cal: string;
let issueEntry: string;
let bigIssueEntry: string;
let holdId: string;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  prep = await hub.registerPartner('PREP');
  for (const [partner, code, rate] of [
    ['ACME', 'STARS', '0.5'],
    ['BOLT', 'MILES', '2'],
  ]) {
    await staff(`mutation { setPartnerUnit(partnerId: "${partner}", code: "${code}") { __typename } }`, {}, 'operator');
    await staff(`mutation { setExchangeRate(partnerId: "${partner}", cpPerPoint: "${rate}") { __typename } }`, {}, 'operator');
  }
  await staff(`mutation { setPartnerContract(partnerId: "ACME", input: { transfersAllowed: true }) { __typename } }`, {}, 'operator');
  await staff(
    `mutation { setPartnerContract(partnerId: "PREP", input: { issuePrice: "1", fundingMode: prepaid }) { __typename } }`,
    {},
    'operator',
  );
  ben = (await accepted(acme.client.enrollMember({ member: 'ben' }))).data.memberId;
  await accepted(prep.client.enrollMember({ member: 'pat' }));
});

afterAll(() => hub.stop());

describe('every operation writes exactly its documented events', () => {
  it('enroll (a new member): member.enrolled in the enrolling partner’s scope', async () => {
    await expectEvents(async () => {
      const enrolled = await accepted(acme.client.enrollMember({ member: 'amy', emailHash: hashEmail('amy@example.com') }));
      amy = enrolled.data.memberId;
      return [event('member.enrolled', 'ACME', amy, { jti: enrolled.jti, memberRef: 'amy' })];
    });
  });

  it('enroll (a member another partner enrolled first): member.linked in the linking partner’s scope only', async () => {
    await expectEvents(async () => {
      const linked = await accepted(bolt.client.enrollMember({ member: 'b-amy', emailHash: hashEmail('amy@example.com') }));
      expect(linked.data).toMatchObject({ memberId: amy, linkedExisting: true });
      return [event('member.linked', 'BOLT', amy, { jti: linked.jti, memberRef: 'b-amy' })];
    });
  });

  it('enroll (a reference already enrolled): nothing changed, no event', async () => {
    await expectEvents(async () => {
      await accepted(acme.client.enrollMember({ member: 'amy' }));
      return [];
    });
  });

  it('issue (CP): points.issued with entry, amount, balance and order reference', async () => {
    await expectEvents(async () => {
      const issued = await accepted(acme.client.issuePoints({ member: 'amy', amount: '100', orderRef: 'o-1' }));
      issueEntry = issued.data.entryId;
      return [
        event('points.issued', 'ACME', amy, {
          jti: issued.jti,
          entryId: issueEntry,
          asset: 'CP',
          amount: '100',
          balance: '100',
          orderRef: 'o-1',
        }),
      ];
    });
  });

  it('issue (own unit): points.issued naming the unit', async () => {
    await expectEvents(async () => {
      const issued = await accepted(acme.client.issuePoints({ member: 'amy', amount: '40', asset: 'ACME.STARS' }));
      return [
        event('points.issued', 'ACME', amy, {
          jti: issued.jti,
          entryId: issued.data.entryId,
          asset: 'ACME.STARS',
          amount: '40',
          balance: '40',
        }),
      ];
    });
  });

  it('redeem (CP): points.redeemed at the redeeming partner, with whose points it consumed', async () => {
    await expectEvents(async () => {
      const redeemed = await accepted(bolt.client.redeemPoints({ member: 'b-amy', amount: '30' }));
      return [
        event('points.redeemed', 'BOLT', amy, {
          jti: redeemed.jti,
          entryId: redeemed.data.entryId,
          asset: 'CP',
          amount: '30',
          balance: '70',
          consumed: [{ issuerPartnerId: 'ACME', amount: '30' }],
        }),
      ];
    });
  });

  it('redeem (own unit): points.redeemed naming the unit, consuming no lots', async () => {
    await expectEvents(async () => {
      const redeemed = await accepted(acme.client.redeemPoints({ member: 'amy', amount: '10', asset: 'ACME.STARS' }));
      return [
        event('points.redeemed', 'ACME', amy, {
          jti: redeemed.jti,
          entryId: redeemed.data.entryId,
          asset: 'ACME.STARS',
          amount: '10',
          balance: '30',
          consumed: [],
        }),
      ];
    });
  });

  it('authorize: hold.authorized with the hold, its expiry and what stays spendable', async () => {
    await expectEvents(async () => {
      const held = await accepted(bolt.client.authorizeRedemption({ member: 'b-amy', amount: '20', orderRef: 'basket-1' }));
      holdId = held.data.holdId;
      return [
        event('hold.authorized', 'BOLT', amy, {
          jti: held.jti,
          holdId,
          amount: '20',
          available: '50',
          expiresAt: held.data.expiresAt,
          orderRef: 'basket-1',
        }),
      ];
    });
  });

  it('capture: hold.captured and the redemption it makes, points.redeemed', async () => {
    await expectEvents(async () => {
      const captured = await accepted(bolt.client.captureRedemption({ hold: holdId, amount: '15' }));
      const entryId = captured.data.entryId;
      return [
        event('hold.captured', 'BOLT', amy, { jti: captured.jti, holdId, entryId, amount: '15', balance: '55' }),
        event('points.redeemed', 'BOLT', amy, {
          jti: captured.jti,
          entryId,
          asset: 'CP',
          amount: '15',
          balance: '55',
          holdId,
          consumed: [{ issuerPartnerId: 'ACME', amount: '15' }],
        }),
      ];
    });
  });

  it('void: hold.voided with the amount released', async () => {
    const held = await accepted(bolt.client.authorizeRedemption({ member: 'b-amy', amount: '10' }));
    await expectEvents(async () => {
      const voided = await accepted(bolt.client.voidRedemption({ hold: held.data.holdId }));
      return [event('hold.voided', 'BOLT', amy, { jti: voided.jti, holdId: held.data.holdId, amount: '10', available: '55' })];
    });
  });

  it('reverse: points.reversed naming the entry it reverses', async () => {
    await expectEvents(async () => {
      const reversed = await accepted(acme.client.reversePoints({ entry: issueEntry, amount: '20', orderRef: 'refund-1' }));
      return [
        event('points.reversed', 'ACME', amy, {
          jti: reversed.jti,
          entryId: reversed.data.entryId,
          reversesEntryId: issueEntry,
          asset: 'CP',
          amount: '20',
          balance: '35',
          orderRef: 'refund-1',
        }),
      ];
    });
  });

  it('transfer: points.transferred from the sender, naming the recipient', async () => {
    await expectEvents(async () => {
      const moved = await accepted(acme.client.transferPoints({ member: 'amy', to: 'ben', amount: '5', orderRef: 'gift-1' }));
      return [
        event('points.transferred', 'ACME', amy, {
          jti: moved.jti,
          entryId: moved.data.entryId,
          toMemberId: ben,
          asset: 'CP',
          amount: '5',
          balance: '30',
          orderRef: 'gift-1',
        }),
      ];
    });
  });

  it('exchange X → Y: exchange.executed in the scope of both partners whose units moved', async () => {
    const token = await hub.memberToken(acme, 'amy');
    const quote = (await hub.graphql(QUOTE, { from: 'ACME.STARS', to: 'BOLT.MILES', amount: '20' }, token)).data?.quoteExchange;
    expect(quote.__typename).toBe('ExchangeQuote');
    await expectEvents(async () => {
      const done = (await hub.graphql(EXCHANGE, { quote: quote.quote }, token)).data?.exchangePoints;
      expect(done).toMatchObject({ __typename: 'ExchangeReceipt', amountIn: '20', cpAmount: '10', amountOut: '5' });
      const data = {
        entryId: done.entryId,
        quoteId: done.quoteId,
        from: 'ACME.STARS',
        to: 'BOLT.MILES',
        amountIn: '20',
        amountOut: '5',
        cpAmount: '10',
        residualCp: done.residualCp,
        fromBalance: '10',
        toBalance: '5',
      };
      return [event('exchange.executed', 'ACME', amy, data), event('exchange.executed', 'BOLT', amy, data)];
    });
  });

  it('an issue that lifts the member into the next tier: points.issued, and tier.changed for every partner the member is at', async () => {
    await expectEvents(async () => {
      // Earned in the window: 100 − 20 refunded = 80; 950 more reach Silver (1000).
      const issued = await accepted(acme.client.issuePoints({ member: 'amy', amount: '950' }));
      bigIssueEntry = issued.data.entryId;
      return [
        event('points.issued', 'ACME', amy, { jti: issued.jti, entryId: bigIssueEntry, asset: 'CP', amount: '950', balance: '980' }),
        event('tier.changed', 'ACME', amy, { previousTier: 'Base', tier: 'Silver' }),
        event('tier.changed', 'BOLT', amy, { previousTier: 'Base', tier: 'Silver' }),
      ];
    });
  });

  it('a refund that drops the member below the threshold: points.reversed and tier.changed back', async () => {
    await expectEvents(async () => {
      const reversed = await accepted(acme.client.reversePoints({ entry: bigIssueEntry, amount: '100' }));
      return [
        event('points.reversed', 'ACME', amy, {
          jti: reversed.jti,
          entryId: reversed.data.entryId,
          reversesEntryId: bigIssueEntry,
          asset: 'CP',
          amount: '100',
          balance: '880',
        }),
        event('tier.changed', 'ACME', amy, { previousTier: 'Silver', tier: 'Base' }),
        event('tier.changed', 'BOLT', amy, { previousTier: 'Silver', tier: 'Base' }),
      ];
    });
  });

  describe('statements', () => {
    let statements: Array<Record<string, any>>;

    it('a settlement close: statement.issued for every partner it issues a statement to', async () => {
      const { id } = (await staff(CURRENT)).currentSettlementPeriod;
      await expectEvents(async () => {
        expect((await staff(CLOSE, { id })).closeSettlementPeriod.__typename).toBe('SettlementPeriod');
        statements = (await staff(STATEMENTS, { period: id })).statements.edges.map((edge: any) => edge.node);
        expect(statements.map((statement) => statement.partnerId).sort()).toEqual(['ACME', 'BOLT']);
        return statements.map((statement) =>
          event('statement.issued', statement.partnerId, null, {
            statementId: statement.id,
            periodId: id,
            currency: statement.currency,
            lineCount: String(statement.lineCount),
            netMinor: statement.netMinor,
            digest: statement.digest,
          }),
        );
      });
    });

    it('acknowledge: statement.acknowledged', async () => {
      const statement = statements.find((row) => row.partnerId === 'ACME')!;
      await expectEvents(async () => {
        const done = await accepted(acme.client.acknowledgeStatement({ statement: statement.id, digest: statement.digest }));
        return [
          event('statement.acknowledged', 'ACME', null, {
            jti: done.jti,
            statementId: statement.id,
            digest: statement.digest,
            status: 'acknowledged',
          }),
        ];
      });
    });

    it('dispute, then finance resolves it: statement.disputed, then statement.resolved', async () => {
      const statement = statements.find((row) => row.partnerId === 'BOLT')!;
      let disputeId = '';
      await expectEvents(async () => {
        const done = await accepted(
          bolt.client.disputeStatement({ statement: statement.id, digest: statement.digest, lines: [1], reason: 'not ours' }),
        );
        disputeId = done.data.disputeId;
        return [
          event('statement.disputed', 'BOLT', null, {
            jti: done.jti,
            statementId: statement.id,
            digest: statement.digest,
            status: 'disputed',
            disputeId,
            lines: ['1'],
          }),
        ];
      });
      await expectEvents(async () => {
        const resolved = (await staff(RESOLVE, { id: disputeId, adj: '-5', note: 'agreed' })).resolveDispute;
        return [
          event('statement.resolved', 'BOLT', null, {
            statementId: statement.id,
            disputeId,
            adjustmentMinor: '-5',
            adjustmentEntryId: resolved.adjustmentEntryId,
            statementStatus: 'resolved',
          }),
        ];
      });
    });
  });

  describe('funding', () => {
    it('money recorded from a partner: funding.recorded', async () => {
      await expectEvents(async () => {
        const recorded = (await staff(RECORD, { id: 'PREP', amount: '100', ref: 'wire 1' })).recordPartnerFunding;
        return [
          event('funding.recorded', 'PREP', null, {
            entryId: recorded.entryId,
            currency: 'EUR',
            amountMinor: '100',
            reference: 'wire 1',
            reason: 'payment',
          }),
        ];
      });
    });

    it('an issue after which the same issue would be refused: funding.limit_reached with it, not before', async () => {
      await expectEvents(async () => {
        const issued = await accepted(prep.client.issuePoints({ member: 'pat', amount: '40' }));
        return [
          event('points.issued', 'PREP', issued.data.memberId, {
            jti: issued.jti,
            entryId: issued.data.entryId,
            asset: 'CP',
            amount: '40',
            balance: '40',
          }),
        ];
      });
      await expectEvents(async () => {
        const issued = await accepted(prep.client.issuePoints({ member: 'pat', amount: '40' }));
        return [
          event('points.issued', 'PREP', issued.data.memberId, {
            jti: issued.jti,
            entryId: issued.data.entryId,
            asset: 'CP',
            amount: '40',
            balance: '80',
          }),
          event('funding.limit_reached', 'PREP', null, {
            currency: 'EUR',
            fundingMode: 'prepaid',
            drawnMinor: '40',
            headroomMinor: '20',
            netDebitCapMinor: null,
          }),
        ];
      });
    });
  });
});

describe('nothing for what was refused or replayed', () => {
  it('a refused instruction (insufficient balance, unknown member, bad signature) writes no event', async () => {
    cal = (await accepted(acme.client.enrollMember({ member: 'cal' }))).data.memberId;
    await accepted(acme.client.issuePoints({ member: 'cal', amount: '10' }));
    await expectEvents(async () => {
      expect(await acme.client.redeemPoints({ member: 'cal', amount: '11' })).toMatchObject({ ok: false, typename: 'InsufficientBalance' });
      expect(await acme.client.issuePoints({ member: 'nobody', amount: '1' })).toMatchObject({ ok: false });
      const forger = hub.clientFor('ACME', await generatePartnerKey('EdDSA'));
      await expect(forger.issuePoints({ member: 'cal', amount: '1' })).resolves.toMatchObject({ ok: false });
      return [];
    });
  });

  it('a replayed instruction (same jti, same request) answers the first receipt and writes no event again', async () => {
    const first = await accepted(acme.client.redeemPoints({ member: 'cal', amount: '3' }, { jti: 'emissions-replay' }));
    await expectEvents(async () => {
      const again = await accepted(acme.client.redeemPoints({ member: 'cal', amount: '3' }, { jti: 'emissions-replay' }));
      expect(again.data).toMatchObject({ entryId: first.data.entryId, replayed: true });
      return [];
    });
  });
});

// Last: it moves the hub's clock years ahead, past what the SDK's signing clock would accept.
describe('expiry', () => {
  it('expiry: points.expired per member and issuer, in the issuer’s scope', async () => {
    const balanceOf = async (partner: TestPartner, ref: string) =>
      (await hub.graphql('{ me { balance } }', {}, await hub.memberToken(partner, ref))).data?.me.balance as string;
    const amyBefore = await balanceOf(acme, 'amy');
    const benBefore = await balanceOf(acme, 'ben');
    const patBefore = await balanceOf(prep, 'pat');
    const calBefore = await balanceOf(acme, 'cal');
    hub.clock.advance(40 * 31 * 86_400_000); // past every lot's lifetime
    await expectEvents(async () => {
      const run = await staff('mutation { runExpiry { ran entriesMade } }', {}, 'operator');
      expect(run.runExpiry).toEqual({ ran: true, entriesMade: 4 });
      return () => [
        event('points.expired', 'ACME', amy, {
          entryId: expect.any(String),
          asset: 'CP',
          amount: amyBefore,
          balance: '0',
          lots: expect.any(String),
        }),
        event('points.expired', 'ACME', cal, { entryId: expect.any(String), asset: 'CP', amount: calBefore, balance: '0', lots: '1' }),
        event('points.expired', 'ACME', ben, { entryId: expect.any(String), asset: 'CP', amount: benBefore, balance: '0', lots: '1' }),
        event('points.expired', 'PREP', expect.any(String), {
          entryId: expect.any(String),
          asset: 'CP',
          amount: patBefore,
          balance: '0',
          lots: '2',
        }),
      ];
    });
  });
});
