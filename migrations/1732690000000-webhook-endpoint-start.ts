import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An endpoint receives the events committed after it was created (docs/webhooks.md, "Endpoints"):
 * each endpoint keeps the snapshot of the transaction that created it, and the dispatcher skips the
 * events that snapshot already saw as committed. Without it, an event committed just before the
 * endpoint was created but dispatched just after went to the new endpoint as well. Existing
 * endpoints get a snapshot that sees nothing, so they receive what they would have before.
 */
export class WebhookEndpointStart1732690000000 implements MigrationInterface {
  name = 'WebhookEndpointStart1732690000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE webhook_endpoint ADD COLUMN created_snapshot pg_snapshot NOT NULL DEFAULT '1:1:';
      ALTER TABLE webhook_endpoint ALTER COLUMN created_snapshot SET DEFAULT pg_current_snapshot();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE webhook_endpoint DROP COLUMN created_snapshot');
  }
}
