import { APP_ROLE, derivedAppUrl } from '../../src/db/app-role';
import { readAppUrl } from '../../src/db/read-data-source';

describe('readAppUrl: member reads connect to the replica as the same role as the primary', () => {
  it("derives the app role's login from the owner's, as on the primary (a replica has the primary's roles and passwords)", () => {
    const read = readAppUrl('postgres://owner:secret@replica.example:5433/coalition?sslmode=require', undefined);
    const primary = new URL(derivedAppUrl('postgres://owner:secret@primary.example:5432/coalition'));
    const url = new URL(read);
    expect(url.username).toBe(APP_ROLE);
    expect(url.password).toBe(primary.password);
    expect(url.host).toBe('replica.example:5433');
    expect(url.pathname).toBe('/coalition');
    expect(url.searchParams.get('sslmode')).toBe('require');
  });

  it('takes the login of APP_DATABASE_URL when that is set, on the replica', () => {
    const url = new URL(
      readAppUrl('postgres://owner:secret@replica.example/coalition', 'postgres://hub_app:chosen@primary.example/coalition'),
    );
    expect([url.username, url.password, url.hostname]).toEqual(['hub_app', 'chosen', 'replica.example']);
  });

  it('keeps a URL that already names the app role as it is', () => {
    const given = `postgres://${APP_ROLE}:its-own@replica.example/coalition`;
    expect(readAppUrl(given, 'postgres://hub_app:chosen@primary.example/coalition')).toBe(given);
  });
});
