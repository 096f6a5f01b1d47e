// A webhook receiver on loopback for the alerts journey: records every
// request and answers each path with the status set for it (200 unless
// told otherwise).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export class Receiver {
  readonly received: Received[] = [];
  private readonly status = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>` */
    readonly url: string,
  ) {}

  static async start(): Promise<Receiver> {
    let self: Receiver | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
        self?.received.push({ path, headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(self?.status.get(path) ?? 200, { 'content-type': 'text/plain' });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    self = new Receiver(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Answer `path` with `status` from now on. */
  answer(path: string, status: number): void {
    this.status.set(path, status);
  }

  to(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Whether `r` carries a Standard Webhooks signature by `secret`
 * (`whsec_<base64>`): `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
 * among the space-separated signatures.
 */
export function signedBy(r: Received, secret: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const id = r.headers['webhook-id'];
  const ts = r.headers['webhook-timestamp'];
  const sigs = (r.headers['webhook-signature'] ?? '').split(' ');
  if (!id || !ts) return false;
  const want = createHmac('sha256', key).update(`${id}.${ts}.${r.body}`).digest();
  return sigs.some((s) => {
    const [v, b64] = s.split(',');
    if (v !== 'v1' || !b64) return false;
    const got = Buffer.from(b64, 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}
