import { limits } from '../config/limits';
import { parseDecimal, decimalText } from '../common/decimal';
import { DomainError, ErrorCode, fail } from '../common/errors';

/** A partner's terms from `validFrom` on (docs/ledger.md, docs/settlement.md). Decimals are canonical strings. */
export interface ContractTerms {
  currency: string;
  issuePrice: string;
  redeemPrice: string;
  breakageShare: string;
  lotLifetimeMonths: number;
  transfersAllowed: boolean;
  reversalPolicy: 'refuse' | 'debt';
  pendingDays: number;
  /** Issue multiplier per tier, exact decimals, e.g. { Silver: "1.5" }; a tier not named multiplies by 1. */
  tierMultipliers: Record<string, string>;
  /** postpaid: the partner settles its net position after each period; prepaid: issues draw on money paid in advance. */
  fundingMode: 'postpaid' | 'prepaid';
  /** Post-paid only: the most the partner's unsettled issue money may reach (minor units); null: no cap. */
  netDebitCapMinor: string | null;
}

export type ContractInput = { [Name in Exclude<keyof ContractTerms, 'netDebitCapMinor'>]?: ContractTerms[Name] | null } & {
  netDebitCapMinor?: string | bigint | null;
};

export function defaultTerms(currency: string): ContractTerms {
  return {
    currency,
    issuePrice: '1',
    redeemPrice: '1',
    breakageShare: '0',
    lotLifetimeMonths: 24,
    transfersAllowed: false,
    reversalPolicy: 'refuse',
    pendingDays: 0,
    tierMultipliers: {},
    fundingMode: 'postpaid',
    netDebitCapMinor: null,
  };
}

const integerIn = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;

/** The terms `input` asks for on top of `base` (the current contract, or the defaults), or why not. */
export function resolveTerms(
  base: ContractTerms,
  input: ContractInput,
  tierNames: readonly string[] = [],
): ContractTerms | DomainError<ErrorCode.INVALID_INPUT> {
  const terms = {
    ...base,
    ...Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined && value !== null)),
  } as ContractTerms;
  if (!/^[A-Z]{3}$/.test(terms.currency)) return fail(ErrorCode.INVALID_INPUT, 'currency is an ISO 4217 code such as EUR');
  for (const name of ['issuePrice', 'redeemPrice', 'breakageShare'] as const) {
    const value = parseDecimal(terms[name]);
    if (value === null)
      return fail(ErrorCode.INVALID_INPUT, `${name} is a decimal string with at most 12 digits before and after the point, e.g. "0.8"`);
    terms[name] = decimalText(value);
  }
  if (parseDecimal(terms.breakageShare)!.gt(1)) return fail(ErrorCode.INVALID_INPUT, 'breakageShare is between 0 and 1');
  if (!integerIn(terms.lotLifetimeMonths, 1, 120)) return fail(ErrorCode.INVALID_INPUT, 'lotLifetimeMonths is 1 to 120');
  if (!integerIn(terms.pendingDays, 0, 365)) return fail(ErrorCode.INVALID_INPUT, 'pendingDays is 0 to 365');
  // Points must vest before they can expire, in the shortest month too.
  if (terms.pendingDays >= terms.lotLifetimeMonths * 28) {
    return fail(
      ErrorCode.INVALID_INPUT,
      `pendingDays must be shorter than the lot lifetime (${terms.lotLifetimeMonths} months = at least ${terms.lotLifetimeMonths * 28} days)`,
    );
  }
  // 'debt' (a recoverable member debt that later earnings repay) is not built yet: refusing the
  // setting is honest, accepting it and then refusing every such refund would not be.
  const multipliers: Record<string, string> = {};
  for (const [tier, text] of Object.entries(terms.tierMultipliers ?? {})) {
    if (!tierNames.includes(tier)) return fail(ErrorCode.INVALID_INPUT, `tier ${tier} is not one of ${tierNames.join(', ')}`);
    const multiplier = parseDecimal(text);
    if (multiplier === null || multiplier.lt(1) || multiplier.gt(10))
      return fail(ErrorCode.INVALID_INPUT, `the multiplier for ${tier} is a decimal from 1 to 10`);
    multipliers[tier] = decimalText(multiplier);
  }
  terms.tierMultipliers = multipliers;
  if (terms.fundingMode !== 'postpaid' && terms.fundingMode !== 'prepaid')
    return fail(ErrorCode.INVALID_INPUT, 'fundingMode is postpaid or prepaid');
  // A prepaid partner's limit is its prepaid balance: a cap carried over from post-paid terms no longer applies.
  if (terms.fundingMode === 'prepaid') {
    if (input.netDebitCapMinor !== undefined && input.netDebitCapMinor !== null)
      return fail(ErrorCode.INVALID_INPUT, 'a net debit cap is for post-paid contracts');
    terms.netDebitCapMinor = null;
  } else if (terms.netDebitCapMinor !== null) {
    const cap = String(terms.netDebitCapMinor);
    if (!/^[0-9]{1,13}$/.test(cap) || BigInt(cap) > limits.amountMax)
      return fail(ErrorCode.INVALID_INPUT, `netDebitCapMinor is a whole number of minor units from 0 to ${limits.amountMax}`);
    terms.netDebitCapMinor = BigInt(cap).toString();
  }
  if (terms.reversalPolicy !== 'refuse')
    return fail(ErrorCode.INVALID_INPUT, "reversalPolicy 'debt' is not supported yet; refunds of spent points are refused");
  return terms;
}
