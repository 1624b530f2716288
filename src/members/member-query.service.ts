import type { DataSource, EntityManager } from 'typeorm';
import { forbidden } from '../common/auth-errors';
import type { Viewer } from '../common/viewer';
import { UUID_PATTERN } from '@coalition-hub/partner-sdk';
import { readCursor, toConnection, type Connection, type EntryFilter, type LotScope, type Page } from '../ledger/ledger-query.service';
import { MemberEntity } from '../db/entities';

/** The member behind a partner's reference, or null when the reference is not enrolled there. */
export async function findMemberIdByRef(tx: EntityManager, partnerId: string, memberRef: string): Promise<string | null> {
  const rows: Array<{ member_id: string }> = await tx.query('SELECT member_id FROM member_link WHERE partner_id = $1 AND member_ref = $2', [
    partnerId,
    memberRef,
  ]);
  return rows[0]?.member_id ?? null;
}

/** Reads the member behind a partner's reference, or null when the reference is not enrolled there. */
export type MemberByRef = (partnerId: string, memberRef: string) => Promise<MemberEntity | null>;

const UUID_ANY_CASE = new RegExp(UUID_PATTERN.source, 'i');

/**
 * Who may see which member: staff see everyone; a partner sees only members linked to it; a
 * member sees only itself. A partner asking for someone else's member gets FORBIDDEN whether or
 * not that member exists, so ids cannot be probed.
 */
export class MemberQueryService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * `read` looks the member up by reference: by default alone; a GraphQL request passes its loader,
   * which reads the fields the request asks for in the same statement (src/graphql/context.ts).
   */
  async findMeOrNull(
    viewer: Viewer,
    read: MemberByRef = (partnerId, memberRef) => this.findByRef(partnerId, memberRef),
  ): Promise<MemberEntity | null> {
    if (viewer.kind !== 'member') throw forbidden('me is for member tokens');
    return read(viewer.partnerId, viewer.memberRef);
  }

  /** Members in hub id order: every member for staff, those enrolled with it for a partner. */
  async list(viewer: Viewer, page: Page): Promise<Connection<MemberEntity>> {
    if (viewer.kind !== 'operator' && viewer.kind !== 'partner') throw forbidden('only operators, finance and partners list members');
    const after = readCursor(page.after, UUID_PATTERN);
    const query = this.dataSource
      .getRepository(MemberEntity)
      .createQueryBuilder('m')
      .orderBy('m.id', 'ASC')
      .limit(page.first + 1);
    if (viewer.kind === 'partner')
      query.innerJoin('member_link', 'l', 'l.member_id = m.id AND l.partner_id = :partnerId', { partnerId: viewer.partnerId });
    if (after !== null) query.where('m.id > :after', { after });
    return toConnection(await query.getMany(), page, (member) => member.id);
  }

  async findForViewer(viewer: Viewer, memberId: string): Promise<MemberEntity | null> {
    const repository = this.dataSource.getRepository(MemberEntity);
    const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(memberId);
    if (viewer.kind === 'operator') return valid ? repository.findOneBy({ id: memberId }) : null;
    if (viewer.kind !== 'partner') throw forbidden('only operators, finance and partners look members up by id');
    const member = valid
      ? await repository
          .createQueryBuilder('m')
          .innerJoin('member_link', 'l', 'l.member_id = m.id AND l.partner_id = :partnerId', { partnerId: viewer.partnerId })
          .where('m.id = :memberId', { memberId })
          .getOne()
      : null;
    if (!member) throw forbidden(`member ${memberId} is not enrolled at ${viewer.partnerId}`);
    return member;
  }

  /**
   * Members named by other subgraphs of a federated graph (`_entities`), read as `member(id)`
   * reads them: staff get any member (null when there is none); a partner gets only members
   * enrolled with it, FORBIDDEN for any other id; a member token gets only its own member, as
   * `me` does. One statement for the whole list; one answer (member, null or error) per id.
   */
  async referencesForViewer(viewer: Viewer, memberIds: readonly string[]): Promise<Array<MemberEntity | null | Error>> {
    if (viewer.kind === 'anonymous') return memberIds.map(() => forbidden('members are read with a bearer token'));
    if (viewer.kind === 'member') {
      const me = await this.findByRef(viewer.partnerId, viewer.memberRef);
      return memberIds.map((id) => (me !== null && me.id === id ? me : forbidden('a member token resolves only its own member')));
    }
    const valid = memberIds.filter((id) => UUID_ANY_CASE.test(id));
    const query = this.dataSource.getRepository(MemberEntity).createQueryBuilder('m').where('m.id = ANY(:ids)', { ids: valid });
    if (viewer.kind === 'partner')
      query.innerJoin('member_link', 'l', 'l.member_id = m.id AND l.partner_id = :partnerId', { partnerId: viewer.partnerId });
    const found = new Map((valid.length > 0 ? await query.getMany() : []).map((member) => [member.id, member]));
    return memberIds.map(
      (id) =>
        found.get(id.toLowerCase()) ??
        (viewer.kind === 'partner' ? forbidden(`member ${id} is not enrolled at ${viewer.partnerId}`) : null),
    );
  }

  /** As findMeOrNull, for a partner naming one of its members. */
  async findByRefForPartner(
    viewer: Viewer,
    memberRef: string,
    read: MemberByRef = (partnerId, ref) => this.findByRef(partnerId, ref),
  ): Promise<MemberEntity | null> {
    if (viewer.kind !== 'partner') throw forbidden('memberByRef is for partner tokens');
    return read(viewer.partnerId, memberRef);
  }

  /** A member by reference alone: one prepared statement (src/db/prepared.ts), planned once per connection. */
  private async findByRef(partnerId: string, memberRef: string): Promise<MemberEntity | null> {
    const rows: Array<{ id: string; email_hash: string | null; phone_hash: string | null; created_at: Date }> = await this.dataSource.query(
      `SELECT m.id, m.email_hash, m.phone_hash, m.created_at FROM member_link l JOIN member m ON m.id = l.member_id
       WHERE l.partner_id = $1 AND l.member_ref = $2`,
      [partnerId, memberRef],
    );
    const row = rows[0];
    if (!row) return null;
    return Object.assign(new MemberEntity(), {
      id: row.id,
      emailHash: row.email_hash,
      phoneHash: row.phone_hash,
      createdAt: row.created_at,
    });
  }

  /**
   * History is scoped too: a partner sees only its own entries for a shared member; a member sees
   * all of its entries, but the references of other partners' entries only as null (the token
   * that asks was signed by one partner).
   */
  historyScope(viewer: Viewer, memberId: string): EntryFilter {
    if (viewer.kind === 'partner') return { memberId, partnerId: viewer.partnerId };
    if (viewer.kind === 'member') return { memberId, identifiersOf: viewer.partnerId };
    return { memberId };
  }

  /**
   * And lots (pending points too, which are lots in a return window): a partner sees the lots it
   * issued, not when and how much another partner issued.
   */
  lotScope(viewer: Viewer, memberId: string): LotScope {
    return viewer.kind === 'partner' ? { memberId, issuerPartnerId: viewer.partnerId } : { memberId };
  }
}
