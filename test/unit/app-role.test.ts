import { APP_ROLE, derivedAppUrl } from '../../src/db/app-role';

describe('derivedAppUrl: the running hub connects as the app role on the owner server', () => {
  it('keeps the server, port, database and options, and swaps the user', () => {
    const url = new URL(derivedAppUrl('postgres://owner:secret@db.example:6543/coalition?sslmode=require'));
    expect(url.username).toBe(APP_ROLE);
    expect(url.host).toBe('db.example:6543');
    expect(url.pathname).toBe('/coalition');
    expect(url.searchParams.get('sslmode')).toBe('require');
  });

  it("derives the same password from the same owner's password, a different one from another, never the owner's own", () => {
    const first = new URL(derivedAppUrl('postgres://owner:secret@127.0.0.1:5432/a')).password;
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new URL(derivedAppUrl('postgres://other:secret@127.0.0.1:5432/b')).password).toBe(first);
    expect(new URL(derivedAppUrl('postgres://owner:another@127.0.0.1:5432/a')).password).not.toBe(first);
    expect(first).not.toBe('secret');
  });

  it('decodes a percent-encoded owner password before deriving', () => {
    expect(derivedAppUrl('postgres://owner:p%40ss@127.0.0.1/a')).toBe(
      derivedAppUrl(`postgres://owner:${encodeURIComponent('p@ss')}@127.0.0.1/a`),
    );
    expect(new URL(derivedAppUrl('postgres://owner:p%40ss@127.0.0.1/a')).password).not.toBe(
      new URL(derivedAppUrl('postgres://owner:p%2540ss@127.0.0.1/a')).password,
    );
  });

  it('has no password when the owner URL has none (trust, peer or certificate authentication)', () => {
    const url = new URL(derivedAppUrl('postgres://postgres@127.0.0.1:5432/test'));
    expect(url.username).toBe(APP_ROLE);
    expect(url.password).toBe('');
  });
});
