import { UUID_PATTERN } from '@coalition-hub/partner-sdk';
import { Arg, Args, Authorized, ID, Query, Resolver } from 'type-graphql';
import { badInput } from '../../common/auth-errors';
import type { Clock } from '../../common/clock';
import type { LiabilityService } from '../../settlement/liability.service';
import { PageArgs } from '../types/connection.type';
import { AccountBalanceAsOf, BreakageToDate, ExpiryBucketConnection, IssuerLiability } from '../types/settlement.type';

/** For finance and operators: liability, breakage and point-in-time balances. */
@Resolver()
export class LiabilityResolver {
  constructor(
    private readonly liability: LiabilityService,
    private readonly clock: Clock,
    private readonly timeZone: string,
  ) {}

  @Authorized('operator', 'finance')
  @Query(() => [IssuerLiability], { description: 'Outstanding CP by issuing partner, now (one row per issuer with open lots).' })
  liabilityByIssuer() {
    return this.liability.byIssuer(this.clock.now());
  }

  @Authorized('operator', 'finance')
  @Query(() => ExpiryBucketConnection, { description: 'Outstanding CP by expiry month and issuer, with projected breakage.' })
  liabilityByExpiryMonth(@Args() page: PageArgs) {
    return this.liability.byExpiryMonth(this.timeZone, page);
  }

  @Authorized('operator', 'finance')
  @Query(() => [BreakageToDate], { description: 'Breakage so far, by issuer.' })
  breakageToDate() {
    return this.liability.breakageToDate();
  }

  @Authorized('operator', 'finance')
  @Query(() => [AccountBalanceAsOf], { description: "A member's accounts, or one account, as they stood at `at` (audits and disputes)." })
  balancesAsOf(
    @Arg('at', () => Date) at: Date,
    @Arg('memberId', () => ID, { nullable: true }) memberId?: string | null,
    @Arg('accountId', () => ID, { nullable: true }) accountId?: string | null,
  ) {
    if ((memberId ? 1 : 0) + (accountId ? 1 : 0) !== 1) throw badInput('name exactly one of memberId and accountId');
    if (accountId && !/^[0-9]{1,18}$/.test(accountId)) throw badInput('accountId is a number');
    if (memberId && !UUID_PATTERN.test(memberId)) return [];
    return this.liability.balancesAsOf({ memberId, accountId }, at);
  }
}
