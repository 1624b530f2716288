import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Decimal from 'decimal.js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashEmail, signAccessToken, signInstruction, type FieldsByOp, type Op } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { createMug } from '../e2e/support/fixture-clock';

/**
 * The operator's KPI dashboards (docs/consoles.md, "KPIs") in Debian's Chromium against a real hub
 * with a small coalition whose purchases span three months (and a reward redeemed). The operator asks for ACME's figures
 * for Jan–Mar 2027 as of Mar 20, and every figure on the page must be the one the GraphQL `kpis`
 * and `kpiCampaigns` queries answer for the same inputs (formatted here independently, with
 * decimal.js); a period that ends before it starts shows the hub's InvalidInput as a readable
 * message; the page fits a 360 px screen. The page is photographed for docs/screenshots/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ROOT = join(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const present = existsSync(CHROMIUM);

if (!present && process.env.CI !== 'true') {
  console.warn(
    `\n!!! SKIPPED: the KPI dashboards' browser test needs Chromium at ${CHROMIUM} (npm run setup:browser), or set CHROMIUM_PATH.\n`,
  );
}
const describeWithBrowser = present || process.env.CI === 'true' ? describe : describe.skip;

const RATIO = 'numerator denominator value';
const KPIS = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO, $segment: KpiSegmentInput) {
  kpis(scope: $scope, period: $period, asOf: $asOf, segment: $segment) {
    __typename ... on ErrorResult { errorCode message }
    ... on Kpis {
      from to activeMembers purchases spend enrolments
      enrolmentsByChannel { channel members }
      retentionCohorts { month size months { offset active retention { value } } }
      monthlyRetention { ${RATIO} } churn { ${RATIO} } repeatPurchaseRate { ${RATIO} } purchaseFrequency { ${RATIO} }
      averageTransactionValue { ${RATIO} } spendGrowth { ${RATIO} } crossPartnerReach { ${RATIO} } referralConversion { ${RATIO} }
      clv { value monthlyMarginPerMember { ${RATIO} } monthlyRetention { ${RATIO} } margin monthlyDiscountRate }
      lifecycleFunnel { stage members }
      rewardUptake { kind redemptions members uptake { ${RATIO} } }
    }
  }
}`;
const FIGURES = `customers purchases spend purchasesPerCustomer { value } spendPerCustomer { value }`;
const MEMBER_LIFT = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiMemberLift(scope: $scope, period: $period, asOf: $asOf) {
    __typename ... on KpiMemberLift {
      months { month members { ${FIGURES} } nonMembers { ${FIGURES} } purchaseLift { ${RATIO} } spendLift { ${RATIO} } }
      period { members { ${FIGURES} } nonMembers { ${FIGURES} } purchaseLift { ${RATIO} } spendLift { ${RATIO} } }
    }
  }
}`;
const LIABILITY = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiLiability(scope: $scope, period: $period, asOf: $asOf) {
    __typename ... on KpiLiability {
      months { month issued redeemed expired reversed outstanding breakageRate { ${RATIO} } breakageToDate { ${RATIO} } }
    }
  }
}`;
const CAMPAIGNS = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiCampaigns(scope: $scope, period: $period, asOf: $asOf) {
    __typename ... on KpiCampaignConnection { edges { node { name membersReached pointsAwarded purchasesDuring purchasesBefore
      budgetUsed { value } pointsCap incrementalPurchasesPerMember { value }
      holdoutShare holdoutMembers holdoutPurchasesDuring incrementalPurchasesPerMemberVsHoldout { value } } } }
  }
}`;

// The display rules of docs/consoles.md, written again with decimal.js (not the console's own code).
const group = (integer: string) => integer.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const count = (value: string | number) => (String(value).startsWith('-') ? `−${group(String(value).slice(1))}` : group(String(value)));
const fixed = (value: string | null, places: number) => {
  if (value === null) return '—';
  const [whole, fraction] = new Decimal(value).abs().toFixed(places, Decimal.ROUND_HALF_UP).split('.');
  return `${new Decimal(value).isNegative() ? '−' : ''}${group(whole!)}${fraction !== undefined ? `.${fraction}` : ''}`;
};
const pct = (value: string | null) => (value === null ? '—' : `${fixed(new Decimal(value).times(100).toString(), 1)}%`);
const ratio = (r: { numerator: string; denominator: string }) => `${count(r.numerator)} / ${count(r.denominator)}`;
const STAGES: Record<string, string> = {
  FIRST_VISIT: 'First visit',
  ONE_TIME: 'One-time',
  RETURNING: 'Returning',
  REPEAT: 'Repeat',
  LOYAL: 'Loyal',
};

describeWithBrowser('the KPI dashboards in Chromium', () => {
  let hub: TestHub;
  let browser: Browser;
  let acme: TestPartner;
  let bolt: TestPartner;
  const problems: string[] = [];
  const requested: string[] = [];

  const at = (iso: string) => hub.clock.advance(Date.parse(iso) - hub.clock.now().getTime());
  let order = 0;
  async function send<O extends Op>(partner: TestPartner, op: O, fields: FieldsByOp[O]): Promise<void> {
    const signed = await signInstruction({ partnerId: partner.id, hubId: HUB_ID, key: partner.key, op, now: hub.clock.now(), fields });
    const outcome = await partner.client.submitSigned(op, signed.jws);
    if (!outcome.ok) throw new Error(`${op}: ${outcome.errorCode} ${outcome.message}`);
  }
  const buy = (partner: TestPartner, member: string, total: string, channel: string) =>
    send(partner, 'activity', { activity: 'purchase', member, total, currency: 'EUR', channel, orderRef: `k-${++order}` });

  beforeAll(async () => {
    if (!present) throw new Error(`Chromium is missing at ${CHROMIUM}: run npm run setup:browser, or set CHROMIUM_PATH`);
    hub = await TestHub.start();
    acme = await hub.registerPartner('ACME');
    bolt = await hub.registerPartner('BOLT');
    at('2027-01-01T09:00:00Z');
    await hub.asStaff(
      `mutation { c: setKpiSettings(input: { lifecycleWindowMonths: 3, loyalMinPurchases: 4, loyalMonths: 2 }) { __typename }
                  a: setKpiSettings(partnerId: "ACME", input: { margin: "0.25" }) { __typename } }`,
      {},
      'operator',
    );
    const campaign = await hub.asStaff(
      `mutation($input: CampaignInput!) { createCampaign(input: $input) { __typename } }`,
      {
        input: {
          name: 'February bonus',
          kind: 'bonus',
          bonusPoints: '10',
          trigger: 'purchase',
          startsLocal: '2027-02-01T00:00',
          endsLocal: '2027-03-01T00:00',
          timeZone: 'UTC',
          funders: [{ partnerId: 'ACME', share: '1' }],
          pointsCap: '1000',
        },
      },
      'operator',
    );
    expect(campaign.createCampaign.__typename).toBe('Campaign');
    const mugId = await createMug(hub, acme);
    at('2027-01-10T10:00:00Z');
    await send(acme, 'enroll', { member: 'a1', emailHash: hashEmail('m1@example.com') });
    await send(acme, 'enroll', { member: 'a2' });
    await send(acme, 'enroll', { member: 'a3' });
    await send(bolt, 'enroll', { member: 'b1', emailHash: hashEmail('m1@example.com') });
    at('2027-01-15T10:00:00Z');
    await buy(acme, 'a1', '1000', 'web');
    await buy(acme, 'a2', '2000', 'store');
    await buy(bolt, 'b1', '500', 'app');
    at('2027-02-05T10:00:00Z');
    await send(acme, 'enroll', { member: 'a5' });
    at('2027-02-10T10:00:00Z');
    await buy(acme, 'a1', '1000', 'web');
    await buy(acme, 'a1', '3000', 'web');
    await buy(acme, 'a3', '500', 'web');
    await buy(acme, 'a5', '1501', 'store');
    at('2027-03-10T10:00:00Z');
    await buy(acme, 'a1', '2000', 'web');
    await buy(acme, 'a3', '700', 'web');
    await buy(acme, 'a5', '1500', 'store');
    at('2027-03-12T10:00:00Z');
    const redeemed = await hub.graphql(
      'mutation($reward: ID!) { redeemReward(rewardId: $reward, idempotencyKey: "mug-1") { __typename } }',
      { reward: mugId },
      await hub.memberToken(acme, 'a1'),
    );
    expect(redeemed.data?.redeemReward.__typename).toBe('RewardRedemption');
    // ACME's non-member customers of January and February (member lift; March has no report).
    for (const [month, customers, purchases, spend] of [
      ['2027-01', '10', '12', '9000'],
      ['2027-02', '8', '9', '7200'],
    ]) {
      const reported = await hub.asStaff(
        `mutation($input: NonMemberReportInput!) { reportNonMemberCustomers(input: $input) { __typename } }`,
        { input: { partnerId: 'ACME', month, customers, purchases, spend } },
        'operator',
      );
      expect(reported.reportNonMemberCustomers.__typename).toBe('NonMemberReport');
    }
    at('2027-03-25T12:00:00Z');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
  });

  /** A page whose clock is the hub's (the month presets and the as-of date are read from it). */
  async function open(width: number, token?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    await page.clock.setFixedTime(hub.clock.now());
    page.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${hub.url}/console/operator#token=${token ?? (await hub.operatorToken())}`);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'KPIs', exact: true }).click();
    await page.getByRole('button', { name: 'Show KPIs' }).waitFor();
    return page;
  }

  async function ask(page: Page, inputs: { scope: string; from: string; to: string; asOf: string }): Promise<void> {
    await page.getByLabel('Scope', { exact: true }).selectOption(inputs.scope);
    await page.getByLabel('Period', { exact: true }).selectOption('custom');
    await page.getByLabel('From month', { exact: true }).fill(inputs.from);
    await page.getByLabel('To month', { exact: true }).fill(inputs.to);
    await page.getByLabel(/^As of/).fill(inputs.asOf);
    await page.getByRole('button', { name: 'Show KPIs' }).click();
  }

  it("shows ACME's KPIs exactly as the GraphQL kpis and kpiCampaigns queries answer them", async () => {
    const page = await open(1280);
    await ask(page, { scope: 'ACME', from: '2027-01', to: '2027-03', asOf: '2027-03-20' });
    const variables = { scope: { partnerId: 'ACME' }, period: { from: '2027-01', to: '2027-03' }, asOf: '2027-03-20T23:59:59.999Z' };
    const answer = await hub.asStaff(KPIS, variables, 'operator');
    const kpis = answer.kpis;
    expect(kpis.__typename).toBe('Kpis');
    // The fixture is not empty: the comparisons below compare real figures.
    expect(kpis.activeMembers).toBeGreaterThan(2);
    expect(kpis.clv.value).not.toBeNull();

    await page.getByRole('heading', { name: 'Figures for ACME' }).waitFor();
    const shown = (id: string) => page.getByTestId(`kpi-${id}`).textContent();
    await expect(page.getByTestId('kpi-context').textContent()).resolves.toContain(`${kpis.from} to ${kpis.to}`);
    expect(await shown('activeMembers')).toBe(count(kpis.activeMembers));
    expect(await shown('enrolments')).toBe(count(kpis.enrolments));
    expect(await shown('purchases')).toBe(count(kpis.purchases));
    expect(await shown('spend')).toBe(count(kpis.spend));
    expect(await shown('averageTransactionValue')).toBe(fixed(kpis.averageTransactionValue.value, 2));
    expect(await shown('purchaseFrequency')).toBe(fixed(kpis.purchaseFrequency.value, 2));
    for (const name of ['repeatPurchaseRate', 'monthlyRetention', 'churn', 'spendGrowth', 'crossPartnerReach', 'referralConversion']) {
      expect([name, await shown(name)]).toEqual([name, pct(kpis[name].value)]);
      expect([name, await shown(`${name}-ratio`)]).toEqual([name, ratio(kpis[name])]);
    }
    expect(await shown('clv')).toBe(count(kpis.clv.value));
    expect(await shown('clv-m')).toBe(fixed(kpis.clv.monthlyMarginPerMember.value, 2));
    expect(await shown('clv-r')).toBe(pct(kpis.clv.monthlyRetention.value));
    expect(await shown('clv-margin')).toBe(pct(kpis.clv.margin));
    expect(await shown('clv-d')).toBe(pct(kpis.clv.monthlyDiscountRate));

    for (const cohort of kpis.retentionCohorts)
      for (const month of cohort.months)
        expect(await page.getByTestId(`cohort-${cohort.month}-${month.offset}`).textContent()).toBe(
          `${pct(month.retention.value)} (${month.active})`,
        );
    const rows = async (caption: string) =>
      (await page.getByRole('table', { name: caption }).locator('tbody tr').allInnerTexts()).map((row) =>
        row.split('\t').map((cell) => cell.trim()),
      );
    expect(await rows('Enrolments by channel')).toEqual(kpis.enrolmentsByChannel.map((row: any) => [row.channel, count(row.members)]));
    expect(await rows('Lifecycle funnel')).toEqual(kpis.lifecycleFunnel.map((row: any) => [STAGES[row.stage], count(row.members)]));
    await page.getByRole('img', { name: 'Members in each lifecycle stage' }).waitFor();
    expect(kpis.rewardUptake.length).toBeGreaterThan(0);
    expect(await rows('Reward uptake by reward kind')).toEqual(
      kpis.rewardUptake.map((row: any) => [
        row.kind,
        count(row.redemptions),
        count(row.members),
        `${pct(row.uptake.value)} (${ratio(row.uptake)})`,
      ]),
    );

    const { kpiCampaigns } = await hub.asStaff(CAMPAIGNS, variables, 'operator');
    const campaigns = kpiCampaigns.edges.map((edge: any) => edge.node);
    expect(campaigns.length).toBeGreaterThan(0);
    await page.getByRole('table', { name: 'Campaign results' }).getByText(campaigns[0].name).waitFor();
    const shownCampaigns = await rows('Campaign results');
    expect(shownCampaigns.map((row) => [row[0], ...row.slice(2)])).toEqual(
      campaigns.map((c: any) => [
        c.name,
        count(c.membersReached),
        count(c.pointsAwarded),
        c.budgetUsed ? `${pct(c.budgetUsed.value)} of ${count(c.pointsCap)}` : 'no cap',
        count(c.purchasesDuring),
        count(c.purchasesBefore),
        fixed(c.incrementalPurchasesPerMember.value, 2),
        c.incrementalPurchasesPerMemberVsHoldout ? `${count(c.holdoutMembers)} (${pct(c.holdoutShare)})` : 'no holdout',
        c.incrementalPurchasesPerMemberVsHoldout ? count(c.holdoutPurchasesDuring) : '—',
        c.incrementalPurchasesPerMemberVsHoldout ? fixed(c.incrementalPurchasesPerMemberVsHoldout.value, 2) : '—',
      ]),
    );

    // Member lift and the liability trend, for the same inputs.
    const lifted = (await hub.asStaff(MEMBER_LIFT, variables, 'operator')).kpiMemberLift;
    expect(lifted.months.filter((row: any) => row.nonMembers !== null)).toHaveLength(2);
    const liftText = (r: { value: string | null; numerator: string; denominator: string } | null) =>
      r === null ? '—' : `${pct(r.value)} (${ratio(r)})`;
    const liftRow = (label: string, row: any) => [
      label,
      count(row.members.customers),
      fixed(row.members.purchasesPerCustomer.value, 2),
      fixed(row.members.spendPerCustomer.value, 2),
      row.nonMembers ? count(row.nonMembers.customers) : 'no report',
      fixed(row.nonMembers?.purchasesPerCustomer.value ?? null, 2),
      fixed(row.nonMembers?.spendPerCustomer.value ?? null, 2),
      liftText(row.purchaseLift),
      liftText(row.spendLift),
    ];
    await page.getByRole('img', { name: 'Spend per customer by month: members against non-members' }).waitFor();
    expect(await rows('Member lift by month')).toEqual([
      ...lifted.months.map((row: any) => liftRow(row.month, row)),
      liftRow('Period (reported months)', lifted.period),
    ]);
    const trend = (await hub.asStaff(LIABILITY, variables, 'operator')).kpiLiability;
    expect(trend.months.some((row: any) => row.issued !== '0')).toBe(true);
    await page.getByRole('img', { name: 'CP issued, redeemed and expired by month' }).waitFor();
    // Every column but "At" (a date written by the browser's Intl).
    expect((await rows('Liability and breakage by month')).map((row) => [...row.slice(0, 6), ...row.slice(7)])).toEqual(
      trend.months.map((row: any) => [
        row.month,
        count(row.issued),
        count(row.redeemed),
        count(row.expired),
        count(row.reversed),
        count(row.outstanding),
        `${pct(row.breakageRate.value)} (${ratio(row.breakageRate)})`,
        `${pct(row.breakageToDate.value)} (${ratio(row.breakageToDate)})`,
      ]),
    );
    await page.screenshot({ path: join(ARTIFACTS, 'operator-kpis-acme.png'), fullPage: true });
    copyFileSync(join(ARTIFACTS, 'operator-kpis-acme.png'), join(ROOT, 'docs', 'screenshots', 'console-kpis.png'));
  });

  it("shows the hub's typed refusal as a readable message, and fits a 360 px screen", async () => {
    const page = await open(360);
    await ask(page, { scope: '', from: '2027-03', to: '2027-01', asOf: '' });
    const refused = await hub.asStaff(KPIS, { scope: {}, period: { from: '2027-03', to: '2027-01' } }, 'operator');
    expect(refused.kpis.__typename).toBe('InvalidInput');
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toBe(`The hub did not accept these inputs: ${refused.kpis.message.replace(/\.$/, '')}.`);

    await ask(page, { scope: '', from: '2027-01', to: '2027-03', asOf: '' });
    await page.getByRole('heading', { name: 'Figures for the coalition' }).waitFor();
    const coalition = await hub.asStaff(KPIS, { scope: {}, period: { from: '2027-01', to: '2027-03' } }, 'operator');
    expect(await page.getByTestId('kpi-activeMembers').textContent()).toBe(count(coalition.kpis.activeMembers));
    expect(await page.getByTestId('kpi-crossPartnerReach-ratio').textContent()).toBe(ratio(coalition.kpis.crossPartnerReach));
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await page.screenshot({ path: join(ARTIFACTS, 'operator-kpis-360.png'), fullPage: true });
  });

  it("a partner's token: its own figures, and another partner's refused as ScopeNotAllowed", async () => {
    const token = await signAccessToken({
      issuer: 'ACME',
      subject: 'ACME',
      scope: 'partner',
      audience: HUB_ID,
      key: acme.key,
      now: hub.clock.now(),
    });
    const page = await open(1280, token);
    // A partner may not list partners: the scope is typed.
    const scope = page.getByLabel('Scope: partner id (empty: the coalition)');
    const period = { from: '2027-01', to: '2027-03' };
    await scope.fill('BOLT');
    await page.getByRole('button', { name: 'Show KPIs' }).click();
    const refused = (await hub.graphql(KPIS, { scope: { partnerId: 'BOLT' }, period }, token)).data!.kpis;
    expect(refused.__typename).toBe('ScopeNotAllowed');
    await expect(page.getByRole('alert').textContent()).resolves.toBe(
      `Your token may not see these figures: ${refused.message.replace(/\.$/, '')}.`,
    );
    await scope.fill('ACME');
    await page.getByLabel('Period', { exact: true }).selectOption('custom');
    await page.getByLabel('From month', { exact: true }).fill(period.from);
    await page.getByLabel('To month', { exact: true }).fill(period.to);
    await page.getByRole('button', { name: 'Show KPIs' }).click();
    await page.getByRole('heading', { name: 'Figures for ACME' }).waitFor();
    const own = (await hub.graphql(KPIS, { scope: { partnerId: 'ACME' }, period }, token)).data!.kpis;
    expect(own.__typename).toBe('Kpis');
    expect(await page.getByTestId('kpi-activeMembers').textContent()).toBe(count(own.activeMembers));
    expect(await page.getByTestId('kpi-repeatPurchaseRate').textContent()).toBe(pct(own.repeatPurchaseRate.value));
  });

  it('asks for a tier segment and shows its answer, and the refusal of a tier the hub does not have', async () => {
    const page = await open(1280);
    const variables = { scope: { partnerId: 'ACME' }, period: { from: '2027-01', to: '2027-03' }, asOf: '2027-03-20T23:59:59.999Z' };
    const whole = (await hub.asStaff(KPIS, variables, 'operator')).kpis;
    const base = (await hub.asStaff(KPIS, { ...variables, segment: { tier: 'Base' } }, 'operator')).kpis;
    expect(base.__typename).toBe('Kpis');
    // Every member of this fixture has earned under the Silver threshold: the Base segment is the whole.
    expect(base.activeMembers).toBe(whole.activeMembers);
    await page.getByLabel('Segment: tier').fill('Base');
    await ask(page, { scope: 'ACME', from: '2027-01', to: '2027-03', asOf: '2027-03-20' });
    await page.getByRole('heading', { name: 'Figures for ACME' }).waitFor();
    await expect(page.getByTestId('kpi-context').textContent()).resolves.toContain('only members in tier Base');
    expect(await page.getByTestId('kpi-activeMembers').textContent()).toBe(count(base.activeMembers));
    const gold = (await hub.asStaff(KPIS, { ...variables, segment: { tier: 'Gold' } }, 'operator')).kpis;
    await page.getByLabel('Segment: tier').fill('Gold');
    await page.getByRole('button', { name: 'Show KPIs' }).click();
    await expect(page.getByTestId('kpi-context').textContent()).resolves.toContain('only members in tier Gold');
    expect(await page.getByTestId('kpi-activeMembers').textContent()).toBe(count(gold.activeMembers));
    expect(gold.activeMembers).toBe(0);
    await page.getByLabel('Segment: tier').fill('Platinum');
    await page.getByRole('button', { name: 'Show KPIs' }).click();
    const refused = (await hub.asStaff(KPIS, { ...variables, segment: { tier: 'Platinum' } }, 'operator')).kpis;
    expect(refused.__typename).toBe('InvalidInput');
    await expect(page.getByRole('alert').textContent()).resolves.toContain(refused.message.replace(/\.$/, ''));
  });

  it('loads nothing from outside the hub and its CSP refuses nothing', () => {
    const origin = new URL(hub.url).origin;
    expect(requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin)).toEqual([]);
    expect(problems).toEqual([]);
  });
});
