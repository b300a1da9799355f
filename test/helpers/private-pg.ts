/**
 * A private PostgreSQL server for fault tests (the outage tests and the chaos suite): initdb into a temp dir, started on its own free port,
 * stopped, restarted and removed by the suite itself, so the shared server on 5432 is never touched.
 * Runs as the `postgres` OS user when the suite runs as root (initdb refuses root).
 * @module
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const BIN = process.env.CHAOS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A free TCP port on 127.0.0.1 (bound once, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** One private server. Every method is synchronous or awaits the server, never the shared one. */
export class PrivatePg {
  /** Temp dir holding data/, the log and the socket. */
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly #asPostgres: boolean;
  #removed = false;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    this.#asPostgres = process.getuid?.() === 0;
  }

  /** initdb and start on a free port. Call {@link remove} in a finally (it is also run at process exit). */
  static async create(): Promise<PrivatePg> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-chaos-pg-'));
    const pg = new PrivatePg(dir, await freePort());
    process.on('exit', () => pg.remove());
    if (pg.#asPostgres) spawnSync('chown', ['-R', 'postgres', dir]);
    fs.chmodSync(dir, 0o700);
    pg.#run('initdb', ['-D', pg.#data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    // fsync off: the suite kills processes, not the machine; a clean stop (-m fast) flushes everything
    fs.appendFileSync(
      path.join(pg.#data, 'postgresql.conf'),
      `\nport = ${pg.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync = off\nmax_connections = 200\n`,
    );
    await pg.start();
    return pg;
  }

  get #data(): string {
    return path.join(this.dir, 'data');
  }

  #run(tool: string, args: string[], allowFail = false): { status: number | null; out: string } {
    const cmd = path.join(BIN, tool);
    const r = this.#asPostgres
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
      : spawnSync(cmd, args, { encoding: 'utf8' });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.status !== 0 && !allowFail) throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${out}`);
    return { status: r.status, out };
  }

  /** Start and wait until it accepts connections (pg_ctl -w). */
  async start(): Promise<void> {
    this.#run('pg_ctl', ['-D', this.#data, '-l', path.join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** `pg_ctl -m fast stop`: connections are cut, the server is down when this returns. */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    this.#run('pg_ctl', ['-D', this.#data, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  /** Start without waiting (the caller measures when the server answers with {@link waitAnswering}). */
  startNoWait(): void {
    this.#run('pg_ctl', ['-D', this.#data, '-l', path.join(this.dir, 'log'), '-W', 'start']);
  }

  /** Poll `SELECT 1` every 20 ms until the server answers; returns the moment it did (ms epoch). */
  async waitAnswering(timeoutMs = 60_000): Promise<number> {
    const { default: pg } = await import('pg');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.query('SELECT 1');
        const at = Date.now();
        await c.end().catch(() => {});
        return at;
      } catch {
        await c.end().catch(() => {});
        if (Date.now() > deadline)
          throw new Error(`private PostgreSQL on port ${this.port} did not answer within ${timeoutMs} ms`);
        await sleep(20);
      }
    }
  }

  /** Stop at once and delete the directory (idempotent; safe in an exit handler: synchronous). */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    if (fs.existsSync(path.join(this.#data, 'postmaster.pid')))
      this.#run('pg_ctl', ['-D', this.#data, '-m', 'immediate', '-w', 'stop'], true);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
