import type { DataSource } from 'typeorm';
import { parsePositiveAmount } from '../common/bigint';
import type { Clock } from '../common/clock';
import { ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { limits } from '../config/limits';
import { withTransaction } from '../db/with-transaction';
import { referralCodeOf, referralProgramme, type ReferralProgramme } from './referrals';

export interface ReferralProgrammeInput {
  partnerId: string;
  /** Whole points (the GraphQL Amount scalar parses to a bigint). */
  referrerBonus: string | bigint;
  /** Whole points (the GraphQL Amount scalar parses to a bigint). */
  refereeBonus: string | bigint;
  capPerReferrer: number;
}

/** The coalition's referral programme (set by the operator) and members' referral codes (docs/grants-and-referrals.md). */
export class ReferralService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** The member's code: created on first ask, the same ever after. */
  codeOf(memberId: string): Promise<string> {
    return withTransaction(this.dataSource, (tx) => referralCodeOf(tx, memberId, this.clock.now()));
  }

  programme(): Promise<ReferralProgramme | null> {
    return referralProgramme(this.dataSource.manager);
  }

  async setProgramme(input: ReferralProgrammeInput, operator: string): Promise<ReferralProgramme | OpError<'setting'>> {
    const referrerBonus = parsePositiveAmount(String(input.referrerBonus), limits.amountMax);
    const refereeBonus = parsePositiveAmount(String(input.refereeBonus), limits.amountMax);
    if (referrerBonus === null)
      return fail(ErrorCode.INVALID_INPUT, 'referrerBonus is a positive whole number of points', { field: 'referrerBonus' });
    if (refereeBonus === null)
      return fail(ErrorCode.INVALID_INPUT, 'refereeBonus is a positive whole number of points', { field: 'refereeBonus' });
    if (!Number.isSafeInteger(input.capPerReferrer) || input.capPerReferrer < 1 || input.capPerReferrer > 2_147_483_647)
      return fail(ErrorCode.INVALID_INPUT, 'capPerReferrer is a positive whole number', { field: 'capPerReferrer' });
    const [partner]: unknown[] = await this.dataSource.query('SELECT 1 FROM partner WHERE id = $1', [input.partnerId]);
    if (!partner) return fail(ErrorCode.NOT_FOUND, `no partner ${input.partnerId}`);
    await this.dataSource.query(
      `INSERT INTO referral_programme (id, partner_id, referrer_bonus, referee_bonus, cap_per_referrer, updated_by, updated_at)
       VALUES (true, $1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET partner_id = excluded.partner_id, referrer_bonus = excluded.referrer_bonus,
         referee_bonus = excluded.referee_bonus, cap_per_referrer = excluded.cap_per_referrer,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      [input.partnerId, referrerBonus.toString(), refereeBonus.toString(), input.capPerReferrer, operator, this.clock.now()],
    );
    const programme = await this.programme();
    return programme!;
  }
}
