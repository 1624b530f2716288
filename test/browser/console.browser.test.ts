import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * The consoles as people use them (docs/consoles.md): headless Debian Chromium on a real hub with a
 * small demo-like coalition. A member at 360 px sees the combined balance the hub computes and
 * redeems a reward; the same is done with the keyboard alone; finance closes the period and
 * downloads a statement whose CSV is the GraphQL statement document byte for byte; the operator
 * creates a campaign, and a purchase sent through the partner SDK then earns by it. Every page is
 * photographed into test-artifacts/console/. Nothing is loaded from outside the hub, the CSP refuses
 * nothing the app needs, no cookie is set and no token appears in a URL the browser requests.
 */

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SETUP = 'npm run setup:browser';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'console');
const present = existsSync(CHROMIUM);

if (!present && process.env.CI !== 'true') {
  console.warn(
    `\n!!! SKIPPED: the consoles' browser test needs Chromium at ${CHROMIUM} (Debian's package).\n!!! Install it with \`${SETUP}\` (apt-get, as root or with sudo), or set CHROMIUM_PATH.\n`,
  );
}

// Under CI a missing browser is a failure, never a silent skip.
const describeWithBrowser = present || process.env.CI === 'true' ? describe : describe.skip;

describeWithBrowser('the consoles in Chromium', () => {
  let hub: TestHub;
  let browser: Browser;
  let acme: TestPartner;
  let bolt: TestPartner;
  let cafe: TestPartner;
  let rewardId: string;
  const requested: string[] = [];
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (!present)
      throw new Error(`Chromium is missing at ${CHROMIUM}: CI installs it with \`${SETUP}\` (.ci/run); run that, or set CHROMIUM_PATH`);
    hub = await TestHub.start();
    [acme, bolt, cafe] = [await hub.registerPartner('ACME'), await hub.registerPartner('BOLT'), await hub.registerPartner('CAFE')];
    // ACME runs a programme of its own (STARS, 1 point = 0.5 CP).
    await hub.asStaff(
      `mutation { u: setPartnerUnit(partnerId: "ACME", code: "STARS") { __typename } r: setExchangeRate(partnerId: "ACME", cpPerPoint: "0.5") { __typename } }`,
      {},
      'operator',
    );
    const email = hashEmail('alice@example.com');
    for (const [partner, member] of [
      [acme, 'alice-1'],
      [bolt, 'A-77'],
      [cafe, 'c-alice'],
    ] as const) {
      expect((await partner.client.enrollMember({ member, emailHash: email })).ok).toBe(true);
    }
    expect((await acme.client.issuePoints({ member: 'alice-1', amount: '1000', orderRef: 'acme-1' })).ok).toBe(true);
    expect((await bolt.client.issuePoints({ member: 'A-77', amount: '500', orderRef: 'bolt-1' })).ok).toBe(true);
    expect((await acme.client.issuePoints({ member: 'alice-1', amount: '30', asset: 'ACME.STARS', orderRef: 'acme-2' })).ok).toBe(true);
    expect((await cafe.client.redeemPoints({ member: 'c-alice', amount: '200', orderRef: 'cafe-1' })).ok).toBe(true);
    const created = await hub.graphql(
      `mutation($input: CreateRewardInput!) { createReward(input: $input) { __typename ... on Reward { id } } }`,
      {
        input: {
          kind: 'service',
          title: 'Free car wash',
          pricePoints: '150',
          stock: '20',
          coalitionWide: true,
          costMinor: '400',
          costCurrency: 'EUR',
          entitlementDays: 30,
          refundPolicy: 'full',
        },
      },
      await bolt.client.accessToken(),
    );
    rewardId = created.data?.createReward?.id;
    expect(rewardId).toEqual(expect.any(String));
    // CAFE earns by a rule: 1 CP per 1.00 spent.
    await hub.asStaff(
      `mutation($input: EarnRuleInput!) { setEarnRule(partnerId: "CAFE", input: $input) { __typename } }`,
      { input: { ruleId: 'base', name: 'Base', kind: 'spend', pointsPerUnit: '1', unitMinor: '100' } },
      'operator',
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await hub?.stop();
  });

  /** A fresh browser context (its own sessionStorage), recording requests and problems. */
  async function open(width: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 800 }, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
    // CSP refusals and script errors show up as console errors.
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    return page;
  }

  async function signIn(page: Page, kind: 'member' | 'finance' | 'operator', token: string): Promise<void> {
    const response = await page.goto(`${hub.url}/console/${kind}#token=${token}`);
    expect(response?.status()).toBe(200);
    const policy = response?.headers()['content-security-policy'] ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    // The app moved the token out of the address bar into this tab's sessionStorage.
    await page.waitForFunction(() => !(globalThis as unknown as { location: { hash: string } }).location.hash.includes('token'));
    expect(page.url()).not.toContain('token');
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function tab(page: Page, name: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name, exact: true }).click();
  }

  it('a member at 360 px sees the combined balance the hub computes, and redeems a reward', async () => {
    const token = await hub.memberToken(acme, 'alice-1');
    const { me } = (await hub.graphql('{ me { combinedBalance { totalCp } available } }', {}, token)).data!;
    // 1000 + 500 issued, 200 redeemed, 30 STARS × 0.5 CP: worked out by hand, and the hub agrees.
    expect(me.combinedBalance.totalCp).toBe('1315');
    const page = await open(360);
    await signIn(page, 'member', token);
    await expect(page.getByTestId('combined-total').textContent()).resolves.toBe('1,315 CP');
    await page.getByRole('table', { name: 'Balance by programme, valued in coalition points' }).waitFor();
    const byPartner = await page.getByRole('table', { name: 'Coalition points by the partner that issued them' }).innerText();
    // CAFE's redemption took the oldest points first: ACME's 1000 became 800.
    expect(byPartner).toMatch(/ACME\s+800/);
    expect(byPartner).toMatch(/BOLT\s+500/);
    await expect(page.getByTestId('referral-code').textContent()).resolves.toMatch(/^[A-Z0-9]{6,}$/);
    // Nothing is wider than the phone's screen.
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot(page, 'member-balance-360');

    await tab(page, 'History');
    await page.locator('.history li').first().waitFor();
    expect(await page.locator('.history').innerText()).toContain('+1,000 CP');
    await shot(page, 'member-history');

    await tab(page, 'Rewards');
    await page.getByRole('button', { name: 'Redeem Free car wash' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    const notice = await page.getByRole('status').filter({ hasText: 'Redeemed' }).innerText();
    const code = /voucher code is (\S+) /.exec(notice)?.[1];
    expect(notice).toContain('Balance now 1,150 CP');
    const after = (await hub.graphql('{ me { balance entitlements(first: 5) { edges { node { code status rewardId } } } } }', {}, token))
      .data!.me;
    expect(after.balance).toBe('1150');
    expect(after.entitlements.edges.map((edge: any) => edge.node)).toEqual([{ code, status: 'issued', rewardId }]);
    await page.getByRole('table', { name: 'Your vouchers' }).getByText(code!).waitFor();
    await shot(page, 'member-rewards');

    await tab(page, 'Exchange');
    await page.getByLabel('From', { exact: true }).selectOption('ACME.STARS');
    await page.getByLabel('Amount of ACME.STARS').fill('10');
    await page.getByRole('button', { name: 'Get a quote' }).click();
    await expect(page.getByTestId('quote-countdown').textContent()).resolves.toMatch(/^Valid for \d+ s$/);
    await shot(page, 'member-exchange');
    await page.getByRole('button', { name: 'Exchange now' }).click();
    await page.getByRole('status').filter({ hasText: 'Exchanged 10 ACME.STARS for 5 CP' }).waitFor();
  });

  it('a member redeems with the keyboard alone', async () => {
    const page = await open(360);
    await signIn(page, 'member', await hub.memberToken(acme, 'alice-1'));
    await page.getByTestId('combined-total').waitFor();
    /** Presses Tab until the focused element has this accessible name (a bounded number of times). */
    const tabTo = async (name: string) => {
      for (let presses = 0; presses < 40; presses += 1) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const element = (globalThis as any).document.activeElement;
          return element?.getAttribute('aria-label') ?? element?.textContent?.trim();
        });
        if (focused === name) return;
      }
      throw new Error(`Tab never reached “${name}”`);
    };
    await tabTo('Skip to content');
    await tabTo('Rewards');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Redeem Free car wash' }).waitFor();
    await tabTo('Redeem Free car wash');
    await page.keyboard.press('Enter');
    // The confirmation takes the focus: Enter confirms.
    await page.waitForFunction(() => (globalThis as any).document.activeElement?.textContent === 'Confirm');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Redeemed “Free car wash”' }).waitFor();
    await shot(page, 'member-keyboard');
  });

  it('finance closes the period and downloads a statement whose CSV is the GraphQL statement document', async () => {
    const page = await open(1280);
    await signIn(page, 'finance', await hub.operatorToken('finance'));
    const open_ = page.getByRole('row').filter({ hasText: 'open' });
    await open_.getByRole('button', { name: 'Close period' }).click();
    await page.getByRole('status').filter({ hasText: 'is closed' }).waitFor();
    await page.getByText('Reconciled: every check agrees.').waitFor();
    await page.getByRole('table', { name: 'Payments after multilateral netting' }).waitFor();
    expect(await page.getByTestId('netting-efficiency').textContent()).toMatch(/^\d+\.\d%$/);
    await shot(page, 'finance-periods');

    await tab(page, 'Statements');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /Download CAFE statement for period \S+ as CSV/ }).click(),
    ]);
    const file = await download.path();
    const { statements } = await hub.asStaff(
      `{ statements(partnerId: "CAFE", first: 1) { edges { node { document(format: CSV) fileName(format: CSV) lineCount } } } }`,
    );
    const statement = statements.edges[0].node;
    expect(download.suggestedFilename()).toBe(statement.fileName);
    expect(readFileSync(file, 'utf8')).toBe(statement.document);
    expect(Number(statement.lineCount)).toBeGreaterThan(0);
    await shot(page, 'finance-statements');

    // CAFE disputes its first line (signed, through the SDK); finance resolves it in the console.
    const { statements: cafeStatements } = await hub.asStaff(
      `{ statements(partnerId: "CAFE", first: 1) { edges { node { id digest } } } }`,
    );
    const disputed = await cafe.client.disputeStatement({
      statement: cafeStatements.edges[0].node.id,
      digest: cafeStatements.edges[0].node.digest,
      lines: [1],
      reason: 'Till 3 was refunded the same day',
    });
    expect(disputed.ok).toBe(true);
    await tab(page, 'Disputes');
    await page.getByRole('row').filter({ hasText: 'Till 3 was refunded the same day' }).getByRole('button', { name: 'Resolve…' }).click();
    await page.getByLabel('Adjustment in minor units').fill('0');
    await page.getByLabel('Resolution note').fill('Checked with CAFE: no refund booked, line stands');
    await shot(page, 'finance-disputes');
    await page.getByRole('button', { name: 'Resolve dispute' }).click();
    await page.getByRole('cell', { name: 'resolved: Checked with CAFE: no refund booked, line stands' }).waitFor();
    const { disputes } = await hub.asStaff('{ disputes(first: 5) { edges { node { status resolutionNote } } } }');
    expect(disputes.edges.map((edge: any) => edge.node)).toEqual([
      { status: 'resolved', resolutionNote: 'Checked with CAFE: no refund booked, line stands' },
    ]);
    await tab(page, 'Liability');
    await page.getByRole('img', { name: 'Outstanding coalition points by issuing partner' }).waitFor();
    await page.getByRole('table', { name: 'Outstanding liability by issuer' }).getByText('ACME').waitFor();
    await shot(page, 'finance-liability');
  });

  it('an operator creates a campaign in the console, and a purchase sent through the SDK earns by it', async () => {
    const page = await open(1280);
    await signIn(page, 'operator', await hub.operatorToken());
    await page.getByRole('table', { name: 'Partners of the coalition' }).getByText('CAFE', { exact: true }).waitFor();
    await shot(page, 'operator-partners');

    await tab(page, 'Campaigns');
    await page.getByLabel('Partner').selectOption('CAFE');
    await page.getByRole('table', { name: "CAFE's earn rules" }).waitFor();
    await page.getByLabel('Name').fill('Console double week');
    await page.getByLabel('Multiplier').fill('2');
    // A holdout share above 0.5: the hub's InvalidInput is shown, and nothing is created.
    await page.getByLabel('Holdout share (0 to 0.5)').fill('0.6');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('alert').filter({ hasText: 'Not created: holdoutShare: a decimal from 0 to 0.5' }).waitFor();
    await page.getByLabel('Holdout share (0 to 0.5)').fill('0');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('status').filter({ hasText: 'Campaign “Console double week” created' }).waitFor();
    await page.getByRole('table', { name: 'Campaigns CAFE funds' }).getByText('Console double week').waitFor();
    await shot(page, 'operator-campaigns');

    const bought = await cafe.client.submitActivity({
      activity: 'purchase',
      member: 'c-alice',
      total: '1000',
      currency: 'EUR',
      orderRef: 'cafe-2',
    });
    if (!bought.ok) throw new Error(`purchase refused: ${JSON.stringify(bought)}`);
    const receipt = bought.data;
    // 10 CP by the rule, and the campaign doubles it: +10 more, funded by CAFE.
    expect(receipt.contributions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: 'campaign', points: '10', reason: expect.stringContaining('Console double week') }),
      ]),
    );
    expect(receipt.amount).toBe('20');

    await tab(page, 'Webhooks');
    await page.getByText('No webhook endpoints registered.').waitFor();
    await shot(page, 'operator-webhooks');
    await tab(page, 'KPIs');
    await page.getByRole('heading', { name: 'Figures for the coalition' }).waitFor();
    await page.getByTestId('kpi-activeMembers').waitFor();
    await shot(page, 'operator-kpis');
  });

  it('rotating a partner key warns before the last one is revoked', async () => {
    const page = await open(1280);
    await signIn(page, 'operator', await hub.operatorToken());
    await page.getByRole('row').filter({ hasText: 'BOLT' }).getByRole('button', { name: 'Manage' }).click();
    await page.getByRole('button', { name: 'Revoke…' }).click();
    const warning = page.getByRole('alertdialog');
    await expect(warning.innerText()).resolves.toContain("This is BOLT's LAST active key");
    await shot(page, 'operator-keys');
    await warning.getByRole('button', { name: 'Cancel' }).click();
    const { partner } = await hub.asStaff('{ partner(id: "BOLT") { keys { status } } }', {}, 'operator');
    expect(partner.keys).toEqual([{ status: 'active' }]);
  });

  it('loads nothing from outside the hub, puts no token in a URL, sets no cookie, and its CSP refuses nothing', async () => {
    const origin = new URL(hub.url).origin;
    expect(requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin)).toEqual([]);
    expect(requested.filter((url) => url.includes('token=') && !new URL(url).hash)).toEqual([]);
    for (const context of contexts) expect(await context.cookies()).toEqual([]);
    expect(requested.some((url) => /\/console\/assets\/index-[\w-]+\.js$/.test(url))).toBe(true);
    expect(problems).toEqual([]);
  });
});
