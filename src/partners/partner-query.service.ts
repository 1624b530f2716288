import { In, type DataSource } from 'typeorm';
import { forbidden } from '../common/auth-errors';
import type { Viewer } from '../common/viewer';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import { PARTNER_ID_PATTERN } from './partner-id';
import { PartnerEntity, PartnerKeyEntity } from '../db/entities';

export class PartnerQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async list(viewer: Viewer, page: Page): Promise<Connection<PartnerEntity>> {
    if (viewer.kind !== 'operator') throw forbidden('only operators and finance list partners');
    const after = readCursor(page.after, PARTNER_ID_PATTERN);
    const query = this.dataSource
      .getRepository(PartnerEntity)
      .createQueryBuilder('p')
      .orderBy('p.id', 'ASC')
      .limit(page.first + 1);
    if (after !== null) query.where('p.id > :after', { after });
    return toConnection(await query.getMany(), page, (partner) => partner.id);
  }

  /** A partner may read itself; staff may read any. */
  async findForViewer(viewer: Viewer, partnerId: string): Promise<PartnerEntity | null> {
    const own = viewer.kind === 'partner' && viewer.partnerId === partnerId;
    if (viewer.kind !== 'operator' && !own) throw forbidden('a partner may read only itself');
    return this.dataSource.getRepository(PartnerEntity).findOneBy({ id: partnerId });
  }

  /**
   * Partners named by other subgraphs (`_entities`), read as `partner(id)` reads them: staff get
   * any (null when there is none), a partner only itself; every other id or token is FORBIDDEN.
   */
  async referencesForViewer(viewer: Viewer, partnerIds: readonly string[]): Promise<Array<PartnerEntity | null | Error>> {
    const readable = (id: string) => viewer.kind === 'operator' || (viewer.kind === 'partner' && viewer.partnerId === id);
    const ids = partnerIds.filter(readable);
    const found = new Map(
      (ids.length > 0 ? await this.dataSource.getRepository(PartnerEntity).findBy({ id: In(ids) }) : []).map((partner) => [
        partner.id,
        partner,
      ]),
    );
    return partnerIds.map((id) => (readable(id) ? (found.get(id) ?? null) : forbidden('a partner may read only itself')));
  }

  async keysByPartner(partnerIds: readonly string[]): Promise<PartnerKeyEntity[][]> {
    const keys = await this.dataSource
      .getRepository(PartnerKeyEntity)
      .createQueryBuilder('k')
      .where('k.partner_id = ANY(:partnerIds)', { partnerIds })
      .orderBy('k.created_at', 'ASC')
      .getMany();
    return partnerIds.map((id) => keys.filter((key) => key.partnerId === id));
  }
}
