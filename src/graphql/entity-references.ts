import DataLoader from 'dataloader';
import { badInput } from '../common/auth-errors';
import type { MemberEntity, PartnerEntity } from '../db/entities';
import type { MemberQueryService } from '../members/member-query.service';
import type { PartnerQueryService } from '../partners/partner-query.service';
import type { RequestContext } from './context';
import type { ReferenceResolvers } from './federation';

interface ReferenceLoaders {
  member: DataLoader<string, MemberEntity | null>;
  partner: DataLoader<string, PartnerEntity | null>;
}

/**
 * The hub's entities as other subgraphs reach them (`_entities`): Member and Partner by id, each
 * read as its direct query reads it (the services decide who sees what) and batched: every
 * reference of one request in one statement per type.
 */
export class EntityReferences {
  /** One set of loaders per request (the context object is the request's own), so answers never cross viewers. */
  private readonly loaders = new WeakMap<RequestContext, ReferenceLoaders>();

  constructor(
    private readonly members: MemberQueryService,
    private readonly partners: PartnerQueryService,
  ) {}

  resolvers(): ReferenceResolvers {
    return {
      Member: async (reference, context) => this.loadersOf(context).member.load(idOf(reference)),
      Partner: async (reference, context) => this.loadersOf(context).partner.load(idOf(reference)),
    };
  }

  private loadersOf(context: RequestContext): ReferenceLoaders {
    let loaders = this.loaders.get(context);
    if (!loaders) {
      const { viewer } = context;
      loaders = {
        member: new DataLoader((ids) => this.members.referencesForViewer(viewer, ids)),
        partner: new DataLoader((ids) => this.partners.referencesForViewer(viewer, ids)),
      };
      this.loaders.set(context, loaders);
    }
    return loaders;
  }
}

function idOf(reference: { id?: unknown }): string {
  if (typeof reference.id !== 'string' || reference.id.length > 64) throw badInput('a reference needs its key field id (a string)');
  return reference.id;
}
