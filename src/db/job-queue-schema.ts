import { Logger, runMigrations } from 'graphile-worker';

/** The schema graphile-worker keeps its jobs in (docs/operations.md, "Jobs"). */
export const JOB_QUEUE_SCHEMA = 'graphile_worker';

/**
 * Installs or upgrades the job queue's tables as the owner, then lets the hub's role use them:
 * the running hub only queues, takes and finishes jobs; it never changes the queue's schema.
 * graphile-worker turns row-level security on for its tables (and defines no policy), which would
 * leave the hub's role seeing no job and adding none: one policy per table lets that role at every row.
 */
export async function migrateJobQueue(ownerUrl: string, appRole: string, runQuery: (sql: string) => Promise<unknown>): Promise<void> {
  await runMigrations({ connectionString: ownerUrl, schema: JOB_QUEUE_SCHEMA, logger: quietLogger });
  await runQuery(`
    DO $grant$ DECLARE secured text; BEGIN
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${appRole}') THEN
        FOR secured IN
          SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = '${JOB_QUEUE_SCHEMA}' AND c.relkind = 'r' AND c.relrowsecurity
            AND NOT EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname AND p.policyname = 'hub_app')
        LOOP
          BEGIN
            EXECUTE format('CREATE POLICY hub_app ON ${JOB_QUEUE_SCHEMA}.%I TO ${appRole} USING (true) WITH CHECK (true)', secured);
          EXCEPTION WHEN duplicate_object THEN NULL; -- another instance starting at the same time made it
          END;
        END LOOP;
        GRANT USAGE ON SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
      END IF;
    END $grant$;
  `);
}

/** graphile-worker's own lines are dropped here: the owner's migration step reports its errors by throwing. */
const quietLogger = new Logger(() => () => undefined);
