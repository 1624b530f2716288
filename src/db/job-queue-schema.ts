import { Logger, runMigrations } from 'graphile-worker';

/** The schema graphile-worker keeps its jobs in (docs/operations.md, "Jobs"). */
export const JOB_QUEUE_SCHEMA = 'graphile_worker';

/**
 * Installs or upgrades the job queue's tables as the owner, then lets the hub's role use them:
 * the running hub only queues, takes and finishes jobs; it never changes the queue's schema.
 */
export async function migrateJobQueue(ownerUrl: string, appRole: string, runQuery: (sql: string) => Promise<unknown>): Promise<void> {
  await runMigrations({ connectionString: ownerUrl, schema: JOB_QUEUE_SCHEMA, logger: quietLogger });
  await runQuery(`
    DO $grant$ DECLARE t record; BEGIN
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${appRole}') THEN
        GRANT USAGE ON SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${JOB_QUEUE_SCHEMA} TO ${appRole};
        -- graphile-worker turns row-level security on for its private tables (no policy: only their
        -- owner gets rows); the hub's role is given every row of them, as a worker needs.
        FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = '${JOB_QUEUE_SCHEMA}' AND c.relkind = 'r' AND c.relrowsecurity LOOP
          EXECUTE format('DROP POLICY IF EXISTS hub_worker ON ${JOB_QUEUE_SCHEMA}.%I', t.relname);
          EXECUTE format('CREATE POLICY hub_worker ON ${JOB_QUEUE_SCHEMA}.%I TO ${appRole} USING (true) WITH CHECK (true)', t.relname);
        END LOOP;
      END IF;
    END $grant$;
  `);
}

/** graphile-worker's own lines are dropped here: the owner's migration step reports its errors by throwing. */
const quietLogger = new Logger(() => () => undefined);
