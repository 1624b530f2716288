import { parse } from 'csv-parse/sync';
import type { StatementLine } from '@coalition-hub/partner-sdk';
import { currencyExponent, lineRow, minorToMajor, statementFileName } from '../../src/settlement/export';

const line = (orderRef: string | null, moneyMinor = '-120'): StatementLine => ({
  line: '1',
  entry: '0b8f7f2e-8a4e-4a8e-9d7e-2f1f5a3b2c1d',
  seq: '7',
  recordedAt: '2026-11-26T10:00:00.000Z',
  kind: 'redeem',
  points: '150',
  price: '0.8',
  moneyMinor,
  orderRef,
  reference: null,
});

describe('statement CSV cells', () => {
  it.each([
    ['\t=1+2', "'\t=1+2"],
    ['\r=1+2', "'\r=1+2"],
    [`+cmd|' /C calc'!A0`, `'+cmd|' /C calc'!A0`],
    [`=cmd|' /C notepad'!'A1'`, `'=cmd|' /C notepad'!'A1'`],
    ['=HYPERLINK("http://evil","x")', `'=HYPERLINK("http://evil","x")`],
    ['@SUM(1+1)', "'@SUM(1+1)"],
    ['-2+3', "'-2+3"],
    ['order-1', 'order-1'],
  ])('writes the text cell %j as %j: a leading quote when a spreadsheet would evaluate it', (orderRef, expected) => {
    const [row] = parse(lineRow(line(orderRef), 2)) as string[][];
    expect(row![9]).toBe(expected);
  });

  it('keeps negative amounts numeric and quotes every field', () => {
    const text = lineRow(line(null), 2);
    expect(text).toBe(
      '"1","0b8f7f2e-8a4e-4a8e-9d7e-2f1f5a3b2c1d","7","2026-11-26T10:00:00.000Z","redeem","150","0.8","-120","-1.20","",""\r\n',
    );
  });

  it('refuses to write a numeric cell that is not a number', () => {
    expect(() => lineRow({ ...line(null), points: '=1+2' }, 2)).toThrow(/not a number/);
  });
});

describe('money in major units', () => {
  it('knows each currency’s exponent', () => {
    expect([currencyExponent('EUR'), currencyExponent('JPY'), currencyExponent('BHD'), currencyExponent('USD')]).toEqual([2, 0, 3, 2]);
  });

  it.each([
    [0n, 2, '0.00'],
    [5n, 2, '0.05'],
    [-5n, 2, '-0.05'],
    [-12345n, 2, '-123.45'],
    [12345n, 0, '12345'],
    [-7n, 3, '-0.007'],
    [123456789012345678901234567890n, 2, '1234567890123456789012345678.90'],
  ])('writes %s minor units with exponent %i exactly as %s', (minor, exponent, expected) => {
    expect(minorToMajor(minor, exponent)).toBe(expected);
  });
});

it('names a statement file from its partner, period, currency and id, with nothing a shell or file system minds', () => {
  expect(statementFileName({ id: 'a/b c', partnerId: 'ACME', periodId: '12', currency: 'EUR' }, 'CSV')).toBe(
    'coalition-statement_ACME_period-12_EUR_a_b_c.csv',
  );
});
