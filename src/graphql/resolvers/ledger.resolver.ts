import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ExpiryService } from '../../operations/expire';
import type { IntegrityService } from '../../ledger/integrity.service';
import type { LedgerQueryService } from '../../ledger/ledger-query.service';
import type { EntryType } from '../../ledger/entry-types';
import type { RequestContext } from '../context';
import { partnerIdOf } from '../viewer-scope';
import { PageArgs } from '../types/connection.type';
import {
  Account,
  EntryTypeEnum,
  ExpiryRun,
  JournalEntry,
  JournalEntryConnection,
  LedgerIntegrityReport,
  Posting,
} from '../types/ledger.type';

@Resolver(() => JournalEntry)
export class JournalEntryResolver {
  constructor(
    private readonly ledger: LedgerQueryService,
    private readonly integrity: IntegrityService,
    private readonly expiry: ExpiryService,
  ) {}

  @Authorized('partner')
  @Query(() => JournalEntryConnection, { description: "The calling partner's own journal entries, newest first." })
  partnerTransactions(
    @Args() page: PageArgs,
    @Ctx() context: RequestContext,
    @Arg('type', () => EntryTypeEnum, { nullable: true }) type?: EntryType | null,
    @Arg('from', () => Date, { nullable: true, description: 'Recorded at or after.' }) from?: Date | null,
    @Arg('to', () => Date, { nullable: true, description: 'Recorded before.' }) to?: Date | null,
  ) {
    return this.ledger.entries({ partnerId: partnerIdOf(context.viewer), type, from, to }, page);
  }

  @Authorized('operator', 'finance')
  @Query(() => LedgerIntegrityReport, { description: 'Recomputes the ledger invariants from postings and lists any difference.' })
  ledgerIntegrity(): Promise<LedgerIntegrityReport> {
    return this.integrity.check();
  }

  @Authorized('operator')
  @Mutation(() => ExpiryRun, {
    description: 'Runs the expiry job now (it also runs on a schedule): lots past their expiry go to breakage.',
  })
  runExpiry(): Promise<ExpiryRun> {
    return this.expiry.run();
  }

  @FieldResolver(() => [Posting])
  postings(@Root() entry: JournalEntry, @Ctx() context: RequestContext) {
    return context.loaders.postingsByEntry.load(entry.id);
  }
}

@Resolver(() => Posting)
export class PostingResolver {
  @FieldResolver(() => Account)
  account(@Root() posting: Posting, @Ctx() context: RequestContext) {
    return context.loaders.account.load(posting.accountId);
  }
}
