import { Arg, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { CombinedBalanceService } from '../../exchange/combined-balance.service';
import type { ExchangeService } from '../../operations/exchange';
import type { RequestContext } from '../context';
import { present } from '../present';
import { AmountScalar } from '../scalars';
import {
  CombinedBalance,
  ExchangeQuote,
  ExchangeReceipt,
  exchangeFailures,
  ExchangeResult,
  quoteFailures,
  QuoteResult,
} from '../types/exchange.type';
import { Member } from '../types/member.type';

/** A member's own acts across programs: quote and execute exchanges, see one combined balance. */
@Resolver(() => Member)
export class ExchangeResolver {
  constructor(
    private readonly exchange: ExchangeService,
    private readonly combined: CombinedBalanceService,
  ) {}

  @Authorized('member')
  @Query(() => QuoteResult, {
    description: 'Quote an exchange of `amount` of `from` (CP or a partner unit) into `to`, at the rates in force now.',
  })
  async quoteExchange(
    @Arg('from') from: string,
    @Arg('to') to: string,
    @Arg('amount', () => AmountScalar) amount: bigint,
    @Ctx() context: RequestContext,
  ): Promise<typeof QuoteResult> {
    return present(await this.exchange.quote(context.viewer, from, to, amount), ExchangeQuote, quoteFailures);
  }

  @Authorized('member')
  @Mutation(() => ExchangeResult, { description: 'Execute a quote (once: executing it again returns the same receipt).' })
  async exchangePoints(@Arg('quote') quote: string, @Ctx() context: RequestContext): Promise<typeof ExchangeResult> {
    return present(await this.exchange.execute(context.viewer, quote), ExchangeReceipt, exchangeFailures);
  }

  @FieldResolver(() => CombinedBalance, {
    description: 'Every asset the member holds, valued in CP at the rates in force. Not for partner tokens.',
  })
  combinedBalance(@Root() member: Member, @Ctx() context: RequestContext) {
    return this.combined.forViewer(context.viewer, member.id, (memberId) => context.loaders.memberWallets.load(memberId));
  }
}
