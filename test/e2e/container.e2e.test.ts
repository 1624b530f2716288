import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config';
import { freePort } from '../../src/db/embedded';
import { assertCliBuilt, CLI_ENTRY, REPO_ROOT } from '../helpers/cli';
import { createTestDatabase, dropTestDatabase } from '../helpers/database';
import { HubProcess } from '../helpers/hub-process';

/**
 * The container, checked without a Docker engine: the Dockerfile's stages, user, health check and
 * start command (run here as the image would run it: the same built CLI the other tests run), and
 * docker-compose.yml's services, health checks, start order, volume and env file.
 */
interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): Array<{ from: string; instructions: Instruction[] }> {
  const text = readFileSync(resolve(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: Array<{ from: string; instructions: Instruction[] }> = [];
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') stages.push({ from: args, instructions: [] });
    else stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args: args.trim() });
  }
  return stages;
}

const finalStage = () => dockerfile().at(-1)!;
const instructionsOf = (keyword: string) => finalStage().instructions.filter((instruction) => instruction.keyword === keyword);
/** The exec form is a JSON array: the shell form (a plain string) would run under /bin/sh, which does not pass SIGTERM on. */
const execForm = (args: string): string[] => {
  const argv: unknown = JSON.parse(args);
  if (!Array.isArray(argv) || !argv.every((arg) => typeof arg === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return argv as string[];
};
const healthcheckArgv = () => execForm(instructionsOf('HEALTHCHECK')[0]!.args.replace(/^.*?\bCMD\s+/, ''));

function compose(): any {
  return parse(readFileSync(resolve(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
}

describe('Dockerfile', () => {
  it('builds in one stage and runs from another with production dependencies only', () => {
    const stages = dockerfile();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!.instructions.map((instruction) => instruction.args).join('\n');
    expect(build).toContain('npm run build');
    const runtime = finalStage().instructions;
    const installs = runtime.filter((instruction) => instruction.keyword === 'RUN' && /npm (install|ci)\b/.test(instruction.args));
    expect(installs.length).toBe(1);
    expect(installs[0]!.args).toMatch(/--omit=dev/);
    expect(runtime.some((instruction) => instruction.keyword === 'RUN' && /npm run build|\btsc\b/.test(instruction.args))).toBe(false);
    expect(
      runtime.some((instruction) => instruction.keyword === 'COPY' && /--from=build\s+\S*\/dist\/?\s/.test(`${instruction.args} `)),
    ).toBe(true);
  });

  it('runs as an unprivileged user, listens on every interface on port 4000', () => {
    const users = instructionsOf('USER').map((instruction) => instruction.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(instructionsOf('EXPOSE').map((instruction) => instruction.args)).toContain('4000');
    expect(
      instructionsOf('ENV')
        .map((instruction) => instruction.args)
        .join(' '),
    ).toMatch(/HOST=0\.0\.0\.0/);
  });

  it('starts with an exec-form CMD naming the built CLI entry the tests run, which exists after the build', () => {
    const cmd = instructionsOf('CMD');
    expect(cmd).toHaveLength(1);
    expect(execForm(cmd[0]!.args)).toEqual(['node', CLI_ENTRY, 'serve']);
    expect(instructionsOf('ENTRYPOINT')).toHaveLength(0);
    assertCliBuilt();
    expect(existsSync(resolve(REPO_ROOT, CLI_ENTRY))).toBe(true);
  });

  it('checks its health on /readyz in exec form', () => {
    const healthcheck = instructionsOf('HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]!.args).toMatch(/--interval=\S+/);
    expect(healthcheckArgv()[0]).toBe('node');
    expect(healthcheckArgv().join(' ')).toContain('/readyz');
  });

  it('keeps secrets and build output out of the build context', () => {
    const ignored = readFileSync(resolve(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['.git', '.env', 'node_modules', 'dist', '.data']) expect(ignored).toContain(entry);
  });

  it("the image's command serves the hub here, and its health check passes when /readyz does and fails when nothing answers", async () => {
    const [, ...args] = execForm(instructionsOf('CMD')[0]!.args);
    const database = await createTestDatabase();
    const port = await freePort();
    const probe = () =>
      new Promise<number | null>((done) => {
        const [, ...probeArgs] = healthcheckArgv();
        const child = spawn(process.execPath, probeArgs, { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
        child.once('exit', (code) => done(code));
      });
    expect(await probe()).toBe(1);
    const hub = HubProcess.run(args, {
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      EXPIRY_INTERVAL_SECONDS: '0',
      SETTLEMENT_INTERVAL_SECONDS: '0',
    });
    try {
      const url = await hub.url();
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(await probe()).toBe(0);
    } finally {
      hub.signal('SIGTERM');
      expect(await hub.exitCode()).toBe(0);
      await dropTestDatabase(database.name);
    }
  }, 90_000);
});

describe('docker-compose.yml', () => {
  it('parses, with PostgreSQL, a one-shot migrate and the hub', () => {
    expect(Object.keys(compose().services).sort()).toEqual(['hub', 'migrate', 'postgres']);
  });

  it('keeps PostgreSQL in a named volume behind a pg_isready health check, restarting it unless stopped', () => {
    const { services, volumes } = compose();
    const postgres = services.postgres;
    const [volume] = (postgres.volumes as string[])[0]!.split(':');
    expect(volume).toMatch(/^[a-z][a-z0-9_-]*$/);
    expect(Object.keys(volumes)).toContain(volume);
    expect(postgres.healthcheck.test.join(' ')).toContain('pg_isready');
    expect(postgres.restart).toBe('unless-stopped');
    expect(postgres.ports).toBeUndefined();
  });

  it('builds the image once and runs migrations with the same CLI before the hub starts', () => {
    const { services } = compose();
    const cmd = execForm(instructionsOf('CMD')[0]!.args);
    expect(services.migrate.build).toBe('.');
    expect(services.hub.build).toBe('.');
    expect(services.migrate.image).toBe(services.hub.image);
    expect(services.migrate.command).toEqual([...cmd.slice(0, -1), 'migrate']);
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(services.migrate.restart).toBe('no');
    expect(services.hub.command).toBeUndefined();
    expect(services.hub.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
    expect(services.hub.restart).toBe('on-failure');
    expect(services.hub.ports).toEqual(['4000:4000']);
    expect(services.hub.environment.HOST).toBe('0.0.0.0');
    for (const name of ['migrate', 'hub'])
      expect(services[name].environment.DATABASE_URL).toMatch(
        /^postgres:\/\/postgres:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432\/coalition$/,
      );
  });

  it('passes the operator key and the other settings from an env file whose committed example the hub accepts', () => {
    const { services } = compose();
    for (const name of ['migrate', 'hub']) expect(services[name].env_file).toBe('.env');
    const example: Record<string, string> = {};
    for (const line of readFileSync(resolve(REPO_ROOT, '.env.example'), 'utf8').split('\n')) {
      const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
      if (match) example[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1');
    }
    expect(Object.keys(example)).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'OPERATOR_JWKS']));
    const text = readFileSync(resolve(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    for (const [, variable] of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)) expect(Object.keys(example)).toContain(variable);
    expect(() => loadConfig({ ...example, DATABASE_URL: 'postgres://postgres:x@postgres:5432/coalition' })).not.toThrow();
  });
});
