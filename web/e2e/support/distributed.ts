// The production shape for the suite: `adpulse migrate`, then `adpulse api`,
// `gateway`, `worker` and `alerter` as separate processes on the local stack (Kafka,
// Postgres, Cassandra, Redis: `deploy/local/stack up`, addresses from the
// ADPULSE_TEST_* variables `deploy/local/stack env` prints), with a Postgres
// schema, Kafka topics, a CQL keyspace, a Redis prefix and a consumer group
// of their own, so a run never meets another's data. Chosen with
// ADPULSE_E2E_SHAPE=distributed.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ALERTS_ENV, binaryPath, distinctPorts, ready, sleep, tail, type ServerInfo, type StartedServer } from './server';

const run = promisify(execFile);

function stackEnv(base: string, accessTtlSecs: number | null, assets: string): Record<string, string> {
  const v = (name: string, fallback: string) => process.env[name] ?? fallback;
  const env: Record<string, string> = {
    ADPULSE__KAFKA__BROKERS: v('ADPULSE_TEST_KAFKA', '127.0.0.1:9092'),
    ADPULSE__KAFKA__EVENTS_TOPIC: `${base}.events`,
    ADPULSE__KAFKA__REJECTED_TOPIC: `${base}.rejected`,
    ADPULSE__KAFKA__METRICS_TOPIC: `${base}.metrics`,
    ADPULSE__KAFKA__PARTITIONS: '4',
    ADPULSE__KAFKA__CLIENT_ID: base,
    ADPULSE__POSTGRES__URL: v('ADPULSE_TEST_POSTGRES', 'postgres://adpulse:adpulse@127.0.0.1:5432/adpulse'),
    ADPULSE__POSTGRES__SCHEMA: base,
    ADPULSE__CQL__NODES: JSON.stringify([v('ADPULSE_TEST_CQL', '127.0.0.1:9042')]),
    ADPULSE__CQL__KEYSPACE: base,
    ADPULSE__REDIS__URL: v('ADPULSE_TEST_REDIS', 'redis://127.0.0.1:6379'),
    ADPULSE__REDIS__KEY_PREFIX: base,
    ADPULSE__WORKER__GROUP_ID: base,
    ADPULSE__ALERTS__GROUP_ID: `${base}.alerter`,
    ...ALERTS_ENV,
    ADPULSE__API__JWT_SECRET: randomBytes(32).toString('hex'),
    ADPULSE__API__ASSET_STORE: assets,
    // As in the embedded run: a revoked key is refused within seconds.
    ADPULSE__GATEWAY__AUTH_CACHE_TTL_SECS: '3',
    ADPULSE__TELEMETRY__LOG_FILTER: 'info',
  };
  if (accessTtlSecs !== null) env.ADPULSE__API__ACCESS_TTL_SECS = String(accessTtlSecs);
  return env;
}

export async function startDistributed(opts: { accessTtlSecs?: number | null; timeoutMs?: number }): Promise<StartedServer> {
  const bin = binaryPath();
  if (!existsSync(bin)) throw new Error(`adpulse binary not found at ${bin}: build it with \`cargo build -p adpulse\` or set ADPULSE_BIN`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adpulse-e2e-dist-'));
  const base = `e2e_${randomBytes(6).toString('hex')}`;
  const accessTtlSecs = opts.accessTtlSecs ?? null;
  const config = stackEnv(base, accessTtlSecs, path.join(dir, 'assets'));
  const [apiPort, gwPort, workerPort, alerterPort] = await distinctPorts(4);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...config,
    ADPULSE__API__LISTEN: `127.0.0.1:${apiPort}`,
    ADPULSE__GATEWAY__LISTEN: `127.0.0.1:${gwPort}`,
    ADPULSE__WORKER__LISTEN: `127.0.0.1:${workerPort}`,
    ADPULSE__ALERTS__LISTEN: `127.0.0.1:${alerterPort}`,
  };
  if (!process.env.ADPULSE_CONSOLE_DIR) delete env.ADPULSE_CONSOLE_DIR;
  delete env.ADPULSE_DATA;
  delete env.ADPULSE_CONFIG;

  try {
    await run(bin, ['migrate', '--wait', '60'], { env, timeout: 180_000 });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `adpulse migrate failed: is the local stack up (deploy/local/stack up)?\n${(e as { stderr?: string }).stderr ?? e}`,
    );
  }
  const children: Array<{ role: string; child: ChildProcess; log: string }> = [];
  for (const role of ['worker', 'api', 'gateway', 'alerter']) {
    const log = path.join(dir, `${role}.log`);
    const fd = openSync(log, 'a');
    children.push({ role, log, child: spawn(bin, [role], { env, stdio: ['ignore', fd, fd] }) });
    closeSync(fd);
  }
  const stop = async () => {
    await Promise.all(
      children.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        if (!(await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]))) {
          child.kill('SIGKILL');
          await gone;
        }
      }),
    );
    if (!process.env.ADPULSE_E2E_KEEP_DATA) rmSync(dir, { recursive: true, force: true });
  };

  const baseURL = `http://127.0.0.1:${apiPort}`;
  const gatewayURL = `http://127.0.0.1:${gwPort}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const alerterURL = `http://127.0.0.1:${alerterPort}`;
  while (
    !(
      (await ready(`${baseURL}/health/ready`)) &&
      (await ready(`${gatewayURL}/health/ready`)) &&
      (await ready(`${alerterURL}/health/ready`))
    )
  ) {
    const dead = children.find(({ child }) => child.exitCode !== null || child.signalCode !== null);
    if (dead || Date.now() > deadline) {
      const logs = children.map(({ role, log }) => `--- ${role}\n${tail(log)}`).join('\n');
      await stop().catch(() => undefined);
      throw new Error(`the distributed platform did not get ready (${dead ? `${dead.role} exited` : 'timed out'}):\n${logs}`);
    }
    await sleep(250);
  }

  const info: ServerInfo = {
    shape: 'distributed',
    adminEnv: config,
    bin,
    dataDir: dir,
    logFile: path.join(dir, 'api.log'),
    pid: children[1]?.child.pid ?? 0,
    baseURL,
    gatewayURL,
    accessTtlSecs,
    tenant: '',
    campaign: '',
    ingestKey: '',
    adminEmail: '',
    adminPassword: '',
  };
  // The demo tenant `adpulse up` would have made: a tenant, a campaign, a key, an admin.
  const admin = async (args: string[], password?: string) => {
    const e: NodeJS.ProcessEnv = { ...env };
    if (password) e.ADPULSE_PASSWORD = password;
    return (await run(bin, ['admin', ...args], { env: e, timeout: 60_000 })).stdout.trim();
  };
  info.tenant = await admin(['create-tenant', '--name', `Demo ${base}`]);
  info.campaign = await admin(['create-campaign', '--tenant', info.tenant, '--name', 'Demo campaign']);
  const key = await admin(['create-key', '--tenant', info.tenant, '--name', 'demo']);
  info.ingestKey = /secret\s+(\S+)/.exec(key)?.[1] ?? '';
  info.adminEmail = `admin-${base}@e2e.example`;
  info.adminPassword = randomBytes(12).toString('hex');
  await admin(['create-user', '--tenant', info.tenant, '--email', info.adminEmail, '--role', 'admin'], info.adminPassword);
  return { info, stop };
}
