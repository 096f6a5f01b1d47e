// Starts and stops a real `adpulse up` for the suite, and runs
// `adpulse admin …` against its data folder.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What the tests need to know of the running server (passed in ADPULSE_E2E_SERVER). */
export interface ServerInfo {
  /** `embedded`: one `adpulse up`; `distributed`: `adpulse api`, `gateway` and `worker` on the local stack. */
  shape: 'embedded' | 'distributed';
  /** Distributed: the configuration every process (and `adpulse admin`) gets. */
  adminEnv?: Record<string, string>;
  bin: string;
  dataDir: string;
  logFile: string;
  pid: number;
  /** `http://127.0.0.1:<api port>`: the console and /api/v1. */
  baseURL: string;
  /** `http://127.0.0.1:<gateway port>`: POST /v1/events. */
  gatewayURL: string;
  accessTtlSecs: number | null;
  tenant: string;
  campaign: string;
  ingestKey: string;
  adminEmail: string;
  adminPassword: string;
}

export const SERVER_ENV = 'ADPULSE_E2E_SERVER';

/**
 * The alerter as the suite runs it: webhook receivers of the alerts
 * journey listen on loopback (a private destination), retries and rule
 * changes on a test's time scale, so a failing receiver's delivery is a
 * dead letter within seconds.
 */
export const ALERTS_ENV: Record<string, string> = {
  ADPULSE__ALERTS__ALLOW_PRIVATE_DESTINATIONS: 'true',
  ADPULSE__ALERTS__CACHE_MS: '300',
  ADPULSE__ALERTS__TICK_MS: '300',
  ADPULSE__ALERTS__RETRY_BASE_MS: '300',
  ADPULSE__ALERTS__RETRY_MAX_MS: '1000',
  ADPULSE__ALERTS__MAX_ATTEMPTS: '3',
  ADPULSE__ALERTS__REQUEST_TIMEOUT_MS: '2000',
  ADPULSE__ALERTS__BREAKER_OPEN_MS: '1000',
};

/** The binary: ADPULSE_BIN, else the debug build in CARGO_TARGET_DIR (default ~/.cache/adpulse/target). */
export function binaryPath(): string {
  return (
    process.env.ADPULSE_BIN ??
    path.join(process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/adpulse/target'), 'debug/adpulse')
  );
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

export interface StartedServer {
  info: ServerInfo;
  stop: () => Promise<void>;
}

/**
 * Runs `adpulse up --data <fresh temp dir>` on free loopback ports and
 * waits for GET /health/ready = 200. Throws with the server's log when it
 * never gets ready (the process is stopped then).
 */
export async function startServer(opts: { accessTtlSecs?: number | null; timeoutMs?: number } = {}): Promise<StartedServer> {
  if (process.env.ADPULSE_E2E_SHAPE === 'distributed') {
    const { startDistributed } = await import('./distributed');
    return startDistributed(opts);
  }
  const bin = binaryPath();
  if (!existsSync(bin)) {
    throw new Error(
      `adpulse binary not found at ${bin}.\n` +
        'Build it first with `cargo build -p adpulse` (it lands in $CARGO_TARGET_DIR/debug/adpulse, ' +
        'default ~/.cache/adpulse/target), or point ADPULSE_BIN at one.',
    );
  }
  const [apiPort, gwPort, workerPort, alerterPort] = await distinctPorts(4);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'adpulse-e2e-'));
  const logFile = path.join(dataDir, '..', `${path.basename(dataDir)}.log`);
  const accessTtlSecs = opts.accessTtlSecs ?? null;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ADPULSE__API__LISTEN: `127.0.0.1:${apiPort}`,
    ADPULSE__GATEWAY__LISTEN: `127.0.0.1:${gwPort}`,
    ADPULSE__WORKER__LISTEN: `127.0.0.1:${workerPort}`,
    // Not the default 8083: a second server (the session test) or another run must not collide.
    ADPULSE__ALERTS__LISTEN: `127.0.0.1:${alerterPort}`,
    ...ALERTS_ENV,
  };
  if (accessTtlSecs !== null) env.ADPULSE__API__ACCESS_TTL_SECS = String(accessTtlSecs);
  // The gateway caches key status (default 30 s, the documented staleness
  // bound of a revoked key); short here so the revocation test is quick.
  env.ADPULSE__GATEWAY__AUTH_CACHE_TTL_SECS = '3';
  // The console from disk only when the caller asks for it; otherwise the embedded one.
  if (!process.env.ADPULSE_CONSOLE_DIR) delete env.ADPULSE_CONSOLE_DIR;
  delete env.ADPULSE_DATA;
  delete env.ADPULSE_CONFIG;

  const fd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(bin, ['up', '--data', dataDir], { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | string | null = null;
  child.on('exit', (code, signal) => {
    exited = code ?? signal ?? 'exited';
  });

  const stop = async () => {
    if (exited === null && child.pid) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const killed = await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await gone;
      }
    }
    if (!process.env.ADPULSE_E2E_KEEP_DATA) {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(logFile, { force: true });
    }
  };

  const baseURL = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  while (!(await ready(`${baseURL}/health/ready`))) {
    if (exited !== null || Date.now() > deadline) {
      const why = exited !== null ? `exited (${exited})` : `was not ready after ${(opts.timeoutMs ?? 90_000) / 1000} s`;
      const log = tail(logFile);
      await stop().catch(() => undefined);
      throw new Error(`adpulse up ${why} (binary ${bin}).\nIts log:\n${log}\n` + 'If the binary is stale, rebuild it: `cargo build -p adpulse`.');
    }
    await sleep(250);
  }

  const welcome = JSON.parse(readFileSync(path.join(dataDir, 'welcome.json'), 'utf8')) as Record<string, string>;
  const info: ServerInfo = {
    shape: 'embedded',
    bin,
    dataDir,
    logFile,
    pid: child.pid ?? 0,
    baseURL,
    gatewayURL: `http://127.0.0.1:${gwPort}`,
    accessTtlSecs,
    tenant: must(welcome, 'tenant'),
    campaign: must(welcome, 'campaign'),
    ingestKey: must(welcome, 'ingest_key'),
    adminEmail: must(welcome, 'admin_email'),
    adminPassword: must(welcome, 'admin_password'),
  };
  return { info, stop };
}

export async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function must(o: Record<string, string>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || !v) throw new Error(`welcome.json has no ${k}`);
  return v;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The running server, as global setup described it. */
export function serverInfo(): ServerInfo {
  const raw = process.env[SERVER_ENV];
  if (!raw) throw new Error(`${SERVER_ENV} is not set: run the suite with \`npm run e2e\` (global setup starts the server)`);
  return JSON.parse(raw) as ServerInfo;
}

/**
 * `adpulse admin <args…>`: on the data folder of `adpulse up`, or on the
 * distributed platform's Postgres schema; returns its trimmed stdout.
 */
export async function adminCli(info: ServerInfo, args: string[], password?: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(info.adminEnv ?? {}) };
  delete env.ADPULSE_DATA;
  delete env.ADPULSE_CONFIG;
  if (password !== undefined) env.ADPULSE_PASSWORD = password;
  const where = info.shape === 'distributed' ? [] : ['--data', info.dataDir];
  const { stdout } = await run(info.bin, ['admin', ...where, ...args], { env, timeout: 60_000 });
  return stdout.trim();
}
