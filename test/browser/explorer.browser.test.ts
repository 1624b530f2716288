import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TestHub } from '../helpers/test-hub';

/**
 * The explorer as a person uses it (README, "Explore the API"): headless Debian Chromium opens
 * /graphql on a real hub, finds the header editor filled with an operator token (as the demo
 * does), runs a query and reads the answer in the result pane; then puts another token in the
 * header editor and sees it used. Every request the page makes is recorded: none leaves the hub,
 * and the page's CSP refuses nothing GraphiQL needs. A screenshot goes to test-artifacts/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SETUP = 'npm run setup:browser';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const present = existsSync(CHROMIUM);

if (!present && process.env.CI !== 'true') {
  console.warn(
    `\n!!! SKIPPED: the explorer's browser test needs Chromium at ${CHROMIUM} (Debian's package).\n!!! Install it with \`${SETUP}\` (apt-get, as root or with sudo), or set CHROMIUM_PATH.\n`,
  );
}

// Under CI a missing browser is a failure, never a silent skip.
const describeWithBrowser = present || process.env.CI === 'true' ? describe : describe.skip;

describeWithBrowser('the GraphQL explorer in Chromium', () => {
  let hub: TestHub;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];
  const failed: string[] = [];

  beforeAll(async () => {
    if (!present)
      throw new Error(`Chromium is missing at ${CHROMIUM}: CI installs it with \`${SETUP}\` (.ci/run); run that, or set CHROMIUM_PATH`);
    let token = '';
    hub = await TestHub.start({ explorerHeaders: async () => ({ Authorization: `Bearer ${token}` }) });
    token = await hub.operatorToken();
    await hub.registerPartner('ACME');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
    page.on('response', (answer) => {
      if (answer.status() >= 400) failed.push(`${answer.status()} ${new URL(answer.url()).pathname}`);
    });
    // CSP refusals and script errors show up as console errors (a failed request too: those are checked above).
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
  });

  /** The text of the CodeMirror editor inside `selector`. */
  const editorText = (selector: string) =>
    page.$eval(`${selector} .CodeMirror`, (element) =>
      (element as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue(),
    );
  const setEditorText = (selector: string, text: string) =>
    page.$eval(
      `${selector} .CodeMirror`,
      (element, value) => (element as unknown as { CodeMirror: { setValue(text: string): void } }).CodeMirror.setValue(value),
      text,
    );
  const HEADERS = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';

  /** Runs the query editor's operation with the ▶ button and waits for the result pane to show `expected`. */
  async function run(query: string, expected: string): Promise<string> {
    await setEditorText('.graphiql-query-editor', query);
    await page.click('button.graphiql-execute-button');
    await page.waitForFunction(
      (text) => {
        // Runs in the page (the tests' own lib has no DOM types).
        const { document } = globalThis as unknown as { document: { querySelector(selector: string): unknown } };
        const element = document.querySelector('.graphiql-response .CodeMirror') as { CodeMirror?: { getValue(): string } } | null;
        return element?.CodeMirror?.getValue().includes(text) ?? false;
      },
      expected,
      { timeout: 30_000 },
    );
    return editorText('.graphiql-response');
  }

  it('opens with the header editor holding the operator token, and answers a query with it in the result pane', async () => {
    const response = await page.goto(`${hub.url}/graphql`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('.graphiql-container');
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    const headers = JSON.parse(await editorText(HEADERS)) as Record<string, string>;
    expect(headers.Authorization).toMatch(/^Bearer eyJ/);

    const answer = JSON.parse(await run('{ partners(first: 5) { edges { node { id name status } } } }', 'ACME'));
    expect(answer).toEqual({ data: { partners: { edges: [{ node: { id: 'ACME', name: 'ACME Ltd', status: 'active' } }] } } });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'explorer.png') });
  });

  it('sends the headers a person types in the header editor', async () => {
    await setEditorText(HEADERS, '{}');
    const refused = JSON.parse(await run('{ ledgerIntegrity { ok } }', 'UNAUTHENTICATED'));
    expect(refused.errors[0].extensions.code).toBe('UNAUTHENTICATED');

    await setEditorText(HEADERS, JSON.stringify({ Authorization: `Bearer ${await hub.operatorToken('finance')}` }));
    const answer = JSON.parse(await run('{ ledgerIntegrity { ok } }', '"ok"'));
    expect(answer).toEqual({ data: { ledgerIntegrity: { ok: true } } });
  });

  it('opens a dialog (whose style elements need the page nonce) without a CSP refusal', async () => {
    await page.getByRole('button', { name: 'Open settings dialog' }).click();
    await page.waitForSelector('.graphiql-dialog');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.graphiql-dialog', { state: 'detached' });
  });

  it('opens a link with ?query=… on that query', async () => {
    const query = '{ ledgerIntegrity { ok entriesChecked } }';
    await page.goto(`${hub.url}/graphql?query=${encodeURIComponent(query)}`);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');
    expect(await editorText('.graphiql-query-editor')).toBe(query);
  });

  it('loads nothing from outside the hub, and its CSP refuses nothing the page needs', () => {
    const origin = new URL(hub.url).origin;
    const outside = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    expect(outside).toEqual([]);
    expect(requested.some((url) => url.includes('/explorer/') && url.endsWith('/graphiql.min.js'))).toBe(true);
    expect(problems).toEqual([]);
    // The one refused request is the query sent on purpose without a token.
    expect(failed).toEqual(['401 /graphql']);
  });
});
