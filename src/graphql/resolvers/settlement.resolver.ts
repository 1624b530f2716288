import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, createUnionType } from 'type-graphql';
import { badInput } from '../../common/auth-errors';
import { ErrorCode, fail } from '../../common/errors';
import { limits } from '../../config/limits';
import { subjectOf } from '../../settlement/subject';
import type { FinanceQueryService, PositionRow } from '../../settlement/finance-query.service';
import type { ReconciliationService } from '../../settlement/reconciliation.service';
import type { SettlementService } from '../../settlement/settlement.service';
import { renderStatement, statementFileName } from '../../settlement/export';
import type { StatementRow, StatementService } from '../../settlement/statement.service';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { failuresOf, InvalidInput, NotFound } from '../types/error-result.type';
import {
  PartnerPosition,
  PartnerPositionConnection,
  PeriodStatusEnum,
  Reconciliation,
  SettlementTransferConnection,
  BilateralPositionConnection,
  SettlementObligationConnection,
  SettlementPeriod,
  SettlementPeriodConnection,
  SettlementSummary,
  Statement,
  StatementConnection,
  StatementFilterArgs,
  StatementFormatEnum,
  StatementLineConnection,
  StatementDispute,
  StatementDisputeConnection,
  DisputeStatusEnum,
} from '../types/settlement.type';
import { ResolveDisputeResult, resolveFailures } from '../types/results.type';
import { AmountScalar } from '../scalars';
import type { DisputeService } from '../../operations/dispute';
import { partnerIdArg, partnerIdFilterArgs } from '../identifier-args';

const closeFailures = failuresOf('closePeriod', [NotFound, InvalidInput]);
export const CloseSettlementPeriodResult = createUnionType({
  name: 'CloseSettlementPeriodResult',
  types: () => [SettlementPeriod, ...closeFailures] as const,
});

const FIGURE_KINDS = {
  issued: 'issue',
  exchangedIn: 'exchange_in',
  redeemed: 'redeem',
  exchangedOut: 'exchange_out',
  issueReversals: 'issue_reversal',
  redeemReversals: 'redeem_reversal',
  breakage: 'breakage',
  adjustments: 'adjustment',
  prefunded: 'prefunded',
  rewards: 'reward',
  rewardRefunds: 'reward_refund',
  granted: 'grant',
  referralBonuses: 'referral',
  campaign: 'campaign',
} as const;

function toPosition(row: PositionRow): PartnerPosition {
  const position = new PartnerPosition();
  position.partnerId = row.partnerId;
  position.netMinor = row.netMinor;
  for (const [field, kind] of Object.entries(FIGURE_KINDS)) {
    const figure = row.kinds.find((entry) => entry.kind === kind);
    (position as unknown as Record<string, unknown>)[field] = {
      lines: figure?.lines ?? 0,
      points: figure?.points ?? 0n,
      moneyMinor: figure?.moneyMinor ?? 0n,
    };
  }
  return position;
}

/** Settlement for finance: periods, close, positions, netting, statements, reconciliation. */
@Resolver(() => SettlementPeriod)
export class SettlementPeriodResolver {
  constructor(
    private readonly settlement: SettlementService,
    private readonly finance: FinanceQueryService,
    private readonly reconciler: ReconciliationService,
  ) {}

  @Authorized('operator', 'finance')
  @Query(() => SettlementPeriod, { description: 'The one open period: entries recorded now belong to it.' })
  currentSettlementPeriod() {
    return this.settlement.openPeriod();
  }

  @Authorized('operator', 'finance')
  @Query(() => SettlementPeriodConnection, { description: 'Periods, newest first.' })
  settlementPeriods(@Args() page: PageArgs, @Arg('status', () => PeriodStatusEnum, { nullable: true }) status?: PeriodStatusEnum | null) {
    return this.finance.periods({ status }, page);
  }

  @Authorized('operator', 'finance')
  @Query(() => SettlementPeriod, { nullable: true })
  settlementPeriod(@Arg('id', () => ID) id: string) {
    return this.finance.period(id);
  }

  @Authorized('operator', 'finance')
  @Mutation(() => CloseSettlementPeriodResult, {
    description: 'Cuts the period off (later entries fall into the next one) and computes its figures and signed statements. Idempotent.',
  })
  async closeSettlementPeriod(
    @Arg('id', () => ID) id: string,
    @Ctx() context: RequestContext,
  ): Promise<typeof CloseSettlementPeriodResult> {
    if (!/^[0-9]{1,18}$/.test(id))
      return present(fail(ErrorCode.NOT_FOUND, `there is no settlement period ${id}`), SettlementPeriod, closeFailures);
    return present(await this.settlement.close(id, subjectOf(context.viewer)), SettlementPeriod, closeFailures);
  }

  @Authorized('operator', 'finance')
  @Query(() => Reconciliation, {
    nullable: true,
    description: 'Checks a closed period against the ledger and the reconciliation identity; lists every difference.',
  })
  reconciliation(@Arg('periodId', () => ID) periodId: string) {
    return this.reconciler.reconcile(periodId);
  }

  @FieldResolver(() => SettlementSummary, { nullable: true, description: 'Null until the period is closed.' })
  async summary(@Root() period: SettlementPeriod) {
    const summary = await this.finance.summary(period.id);
    if (!summary) return null;
    const revenueMinor = summary.spreadMinor + summary.breakageKeptMinor + summary.adjustmentsMinor;
    return {
      ...summary,
      revenueMinor,
      liabilityChangeMinor: summary.fundedCreatedMinor - summary.fundedReleasedMinor,
      nettingEfficiency: summary.grossMinor === 0n ? 0 : 1 - Number((summary.netMinor * 10n ** 12n) / summary.grossMinor) / 1e12,
    };
  }

  @FieldResolver(() => PartnerPositionConnection, { description: 'Per partner, by partner id.' })
  async positions(
    @Root() period: SettlementPeriod,
    @Args() page: PageArgs,
    @Arg('partnerId', () => ID, { nullable: true, ...partnerIdArg }) partnerId?: string | null,
  ) {
    const connection = await this.finance.positions(period.id, page, partnerId);
    return { ...connection, edges: connection.edges.map((edge) => ({ cursor: edge.cursor, node: toPosition(edge.node) })) };
  }

  @FieldResolver(() => SettlementObligationConnection, { description: 'The A → Q matrix, one pair per edge.' })
  obligations(@Root() period: SettlementPeriod, @Args() page: PageArgs) {
    return this.finance.obligations(period.id, page);
  }

  @FieldResolver(() => BilateralPositionConnection, {
    description: 'The bilateral view: each pair of partners, what each owes the other in funded value, and the net.',
  })
  bilateral(@Root() period: SettlementPeriod, @Args() page: PageArgs) {
    return this.finance.bilateral(period.id, page);
  }

  @FieldResolver(() => SettlementTransferConnection, {
    description: 'Who pays whom after multilateral netting (at most participants − 1).',
  })
  transfers(@Root() period: SettlementPeriod, @Args() page: PageArgs) {
    return this.finance.transfers(period.id, page);
  }
}

@Resolver(() => Statement)
export class StatementResolver {
  constructor(
    private readonly finance: FinanceQueryService,
    private readonly statementService: StatementService,
    private readonly disputeService: DisputeService,
  ) {}

  @Authorized('operator', 'finance', 'partner')
  @Query(() => StatementDisputeConnection, { description: 'Disputes, newest first. A partner sees its own only.' })
  disputes(
    @Args() page: PageArgs,
    @Ctx() context: RequestContext,
    @Arg('statementId', () => ID, { nullable: true }) statementId?: string | null,
    @Arg('status', () => DisputeStatusEnum, { nullable: true }) status?: DisputeStatusEnum | null,
  ) {
    return this.disputeService.disputes(context.viewer, { statementId, status }, page);
  }

  @Authorized('finance', 'operator')
  @Mutation(() => ResolveDisputeResult, {
    description:
      'Resolves a dispute with an adjustment entry in the open period (positive: the partner owes the hub more; 0: no money moves).',
  })
  async resolveDispute(
    @Arg('disputeId', () => ID) disputeId: string,
    @Arg('adjustmentMinor', () => AmountScalar) adjustmentMinor: bigint,
    @Arg('note') note: string,
    @Ctx() context: RequestContext,
  ): Promise<typeof ResolveDisputeResult> {
    return present(
      await this.disputeService.resolve(disputeId, adjustmentMinor, note, subjectOf(context.viewer)),
      StatementDispute,
      resolveFailures,
    );
  }

  @FieldResolver(() => StatementDisputeConnection)
  statementDisputes(@Root() statement: Statement, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    return this.disputeService.disputes(context.viewer, { statementId: statement.id }, page);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => StatementConnection, { description: 'Statements, newest period first. A partner sees its own only.' })
  statements(@Args(partnerIdFilterArgs) filter: StatementFilterArgs, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    return this.finance.statements(context.viewer, filter, page);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => Statement, { nullable: true })
  statement(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext) {
    return this.finance.statement(context.viewer, id);
  }

  @FieldResolver(() => StatementLineConnection, { description: 'The lines, numbered as in the export and the signed digest.' })
  lines(@Root() statement: Statement, @Args() page: PageArgs) {
    return this.finance.lines(statement as StatementRow, page);
  }

  @FieldResolver(() => String, {
    description: `The whole statement as JSON or CSV, for statements of up to ${limits.statementDocumentLinesMax} lines (larger ones: npm run settlement -- statement).`,
  })
  async document(
    @Root() statement: Statement,
    @Arg('format', () => StatementFormatEnum, { defaultValue: StatementFormatEnum.JSON }) format: StatementFormatEnum,
  ) {
    if (statement.lineCount > BigInt(limits.statementDocumentLinesMax)) {
      throw badInput(`statement has ${statement.lineCount} lines; export it with npm run settlement -- statement ${statement.id}`);
    }
    const chunks: string[] = [];
    await renderStatement(this.statementService, statement as StatementRow, format, (chunk) => void chunks.push(chunk));
    return chunks.join('');
  }

  @FieldResolver(() => String, {
    description:
      'A file name for the exported document that names the partner, period, currency and statement (a CSV holds no metadata above its header).',
  })
  fileName(
    @Root() statement: Statement,
    @Arg('format', () => StatementFormatEnum, { defaultValue: StatementFormatEnum.JSON }) format: StatementFormatEnum,
  ) {
    return statementFileName(statement as StatementRow, format);
  }
}
