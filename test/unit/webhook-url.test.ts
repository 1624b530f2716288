import { isDomainError } from '../../src/common/errors';
import { loadConfig } from '../../src/config/config';
import { retryDelayMs } from '../../src/events/webhook-delivery';
import { checkWebhookUrl, guardedLookup, isInternalAddress } from '../../src/events/webhook-url';

describe('webhook URLs (SSRF rule)', () => {
  it.each([
    'http://127.0.0.1/hooks',
    'http://localhost:8080/hooks',
    'http://api.localhost/hooks',
    'http://intranet/hooks',
    'http://10.1.2.3/hooks',
    'http://172.20.0.1/hooks',
    'http://192.168.1.10/hooks',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::1]/hooks',
    'http://[fe80::1]/hooks',
    'http://[fd00::1]/hooks',
    'http://[::ffff:127.0.0.1]/hooks',
    'http://2130706433/hooks', // 127.0.0.1 written as one number: URL parsing makes it 127.0.0.1
  ])('refuses %s as a private address unless private URLs are allowed', (url) => {
    const refused = checkWebhookUrl(url, false);
    expect(isDomainError(refused) && refused.details).toEqual({ reason: 'private-address' });
    expect(typeof checkWebhookUrl(url, true)).toBe('string');
  });

  it.each(['https://hooks.example.com/acme', 'http://203.0.113.9:8080/x?y=1', 'https://[2001:db8::1]/hooks'])('accepts %s', (url) => {
    expect(checkWebhookUrl(url, false)).toBe(new URL(url).toString());
  });

  it.each([
    ['ftp://example.com/x', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['https://user:secret@example.com/x', 'credentials'],
    ['https://user@example.com/x', 'credentials'],
    ['example.com/x', 'malformed'],
    ['https://example.com/x#frag', 'malformed'],
  ])('refuses %s (%s) whatever the private-address setting', (url, reason) => {
    for (const allowPrivate of [false, true]) {
      const refused = checkWebhookUrl(url, allowPrivate);
      expect(isDomainError(refused) && refused.details).toEqual({ reason });
    }
  });

  it('classifies addresses: internal ones, and public ones', () => {
    expect(
      ['127.0.0.53', '::1', '::', '10.0.0.1', 'fe80::abcd', '224.0.0.1', '::ffff:7f00:1', 'not an address'].every(isInternalAddress),
    ).toBe(true);
    expect(['8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', '::ffff:808:808'].some(isInternalAddress)).toBe(false);
  });

  it('refuses, at connection time, a host name that resolves to an internal address', async () => {
    const lookup = guardedLookup(false);
    const error = await new Promise<NodeJS.ErrnoException | null>((done) => lookup('localhost', {}, (failure) => done(failure)));
    expect(error?.code).toBe('EADDRBLOCKED');
    const allowed = await new Promise<string>((done, fail) =>
      guardedLookup(true)('localhost', {}, (failure, address) => (failure ? fail(failure) : done(String(address)))),
    );
    expect(isInternalAddress(allowed)).toBe(true);
  });
});

describe('retry schedule', () => {
  it('waits between half the step and the whole step', () => {
    expect(retryDelayMs(10_000, () => 0)).toBe(5000);
    expect(retryDelayMs(10_000, () => 0.999999)).toBe(10_000);
    for (let i = 0; i < 100; i += 1) {
      const delay = retryDelayMs(1000);
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1000);
    }
  });

  it('spans at least 24 hours by default, even when every draw is the shortest', () => {
    const steps = loadConfig({}).webhooks.retryScheduleMs;
    const shortest = steps.reduce((sum, step) => sum + retryDelayMs(step, () => 0), 0);
    expect(shortest).toBeGreaterThanOrEqual(24 * 3600 * 1000);
  });

  it('is configurable, and refuses a schedule that is not a list of seconds', () => {
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.5, 2,10' }).webhooks.retryScheduleMs).toEqual([500, 2000, 10_000]);
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE_SECONDS: '5,soon' })).toThrow(/WEBHOOK_RETRY_SCHEDULE_SECONDS/);
  });
});
