/** Which signed instructions a request refused before execution asked for (it is counted under those ops). */
import { parse } from 'graphql';
import { requestedOps } from '../../src/graphql/outcome-plugin';

describe('requestedOps', () => {
  it('reads the signed mutations of a parsed document, with unknown for a mutation it does not know that carries an instruction', () => {
    const document = parse(
      'mutation($i: String!, $j: String!) { a: voidRedemption(instruction: $i) { __typename } b: issuePoint(instruction: $j) { __typename } registerPartner(input: {}) { __typename } }',
    );
    expect(requestedOps(document, undefined, undefined)).toEqual(['void', 'unknown']);
  });

  it('counts nothing for queries, nor for mutations without an instruction', () => {
    expect(requestedOps(parse('{ partner(id: "A") { id } }'), undefined, undefined)).toEqual([]);
    expect(requestedOps(parse('mutation { suspendPartner(partnerId: "A") { __typename } }'), undefined, undefined)).toEqual([]);
  });

  it('reads the text of a request that did not parse: the signed mutations it names, else unknown when it carries an instruction', () => {
    expect(requestedOps(undefined, 'mutation { captureRedemption(instruction: "x") { __typename ', undefined)).toEqual(['capture']);
    expect(requestedOps(undefined, 'mutation { (instruction: $i) }', undefined)).toEqual(['unknown']);
    expect(requestedOps(undefined, 'mutation {', { instruction: 'eyJ...' })).toEqual(['unknown']);
    expect(requestedOps(undefined, '{ partner(id: ', undefined)).toEqual([]);
    expect(requestedOps(undefined, undefined, undefined)).toEqual([]);
  });
});
