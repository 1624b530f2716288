import { REFERENCE_PATTERN } from '@coalition-hub/partner-sdk';
import type { ValidatorFn } from 'type-graphql';
import { badInput } from '../common/auth-errors';
import { PARTNER_ID_PATTERN } from '../partners/partner-id';

/**
 * Identifier arguments checked against their pattern where they enter, like a scalar would:
 * a value that cannot name anything is refused as BAD_USER_INPUT instead of reaching a query.
 * Spread into an @Arg's options: `@Arg('partnerId', () => ID, partnerIdArg)`.
 */
interface IdentifierRule {
  what: string;
  pattern: RegExp;
  shape: string;
}

const PARTNER_ID: IdentifierRule = {
  what: 'a partner id',
  pattern: PARTNER_ID_PATTERN,
  shape: '2 to 32 of A-Z, 0-9 and _, starting with a letter',
};
/** A partner's own references (member ref, jti, key id): what the partner SDK accepts for them. */
const REFERENCE: IdentifierRule = {
  what: 'a reference',
  pattern: REFERENCE_PATTERN,
  shape: '1 to 128 printable ASCII characters without spaces',
};

function check(rule: IdentifierRule, value: unknown, name?: string): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'string' || !rule.pattern.test(value)) throw badInput(`${name ? `${name} is ` : ''}not ${rule.what}: ${rule.shape}`);
}

const argRule = (rule: IdentifierRule): { validateFn: ValidatorFn } => ({ validateFn: (value: unknown) => check(rule, value) });

export const partnerIdArg = argRule(PARTNER_ID);
export const referenceArg = argRule(REFERENCE);

/** For an @Args() class with a `partnerId` field (a filter). */
export const partnerIdFilterArgs: { validateFn: ValidatorFn } = {
  validateFn: (args: unknown) => check(PARTNER_ID, (args as { partnerId?: unknown } | null)?.partnerId, 'partnerId'),
};
