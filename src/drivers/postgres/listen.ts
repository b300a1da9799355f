/**
 * PostgreSQL wake-ups and events between processes: LISTEN on dedicated connections that reconnect with
 * backoff and jitter, NOTIFY to send.
 * @module
 */
import type * as PgTypes from 'pg';
import type { RawRow } from '../rows.ts';
import type { Listening, WakeTopic } from '../types/wake.ts';
import type { PgContext } from './context.ts';

/** The NOTIFY channel of a wake-up topic. */
export function pgWakeChannel(c: PgContext, topic: WakeTopic): string {
  return topic === 'jobs' ? c.notify.jobs : topic === 'freed' ? c.notify.freed : `${c.schema}:channels`;
}

/** Wake-ups from every process, on a dedicated connection; after a reconnection, one `jobs` wake-up catches up. */
export async function pgSubscribe(
  c: PgContext,
  onWake: (topic: WakeTopic, origin: string | null) => void,
): Promise<Listening> {
  const channelsTopic = pgWakeChannel(c, 'channels');
  const topics: Record<string, WakeTopic> = {
    [c.notify.jobs]: 'jobs',
    [c.notify.freed]: 'freed',
    [channelsTopic]: 'channels',
  };
  // the payload of a `freed` sent by jobWriteMany is the runner's id
  return listen(
    c,
    'subscribe',
    [c.notify.jobs, c.notify.freed, channelsTopic],
    `conveyor:${c.schema}`,
    (channel, payload) => {
      const t = topics[channel];
      if (t) onWake(t, payload || null);
    },
    () => onWake('jobs', null),
  ); // catch up on what was missed while disconnected
}

/**
 * LISTEN on `channels` on a dedicated connection (named `appName`, which {@link pgEventListeners} looks
 * for) that reconnects with backoff and jitter; `onReconnect` runs once it listens again.
 */
async function listen(
  c: PgContext,
  operation: string,
  channels: readonly string[],
  appName: string,
  onNotify: (channel: string, payload: string) => void,
  onReconnect: (() => void) | undefined,
): Promise<Listening> {
  const pg = c.pg;
  let client: PgTypes.Client | null = null;
  let closed = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    const conn = new pg.Client({
      connectionString: c.connectionString,
      keepAlive: true,
      types: c.types,
      application_name: appName.slice(0, 63),
    });
    conn.on('notification', (msg) => onNotify(msg.channel, msg.payload ?? ''));
    conn.on('error', () => {
      /* handled by 'end' */
    });
    conn.on('end', () => {
      if (closed) return;
      client = null;
      schedule();
    });
    await conn.connect();
    await conn.query(channels.map((ch) => `LISTEN "${ch}"`).join('; '));
    if (closed) {
      await conn.end().catch(() => {});
      return;
    }
    client = conn;
    if (attempt > 0) onReconnect?.();
    attempt = 0;
  };
  const schedule = () => {
    if (closed || timer) return;
    // capped at 1 s: wake-ups missed while the listener is down wait for it to come back (a
    // reconnection catches up with one 'jobs' wake-up), and one connection attempt a second is cheap
    const delay = Math.min(1_000, 100 * 2 ** attempt++) * (0.5 + Math.random() / 2);
    timer = setTimeout(() => {
      timer = null;
      connect().catch(() => schedule());
    }, delay);
    timer.unref?.();
  };
  await connect().catch((err: unknown) => c.wrap(operation, err));
  const handle = {
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      c.listeners.delete(handle);
      const open = client;
      client = null;
      if (open) await open.end().catch(() => {});
    },
  };
  c.listeners.add(handle);
  return handle;
}

/** application_name of the connections that listen to events (what {@link pgEventListeners} looks for). */
function eventsAppName(c: PgContext): string {
  return `conveyor-events:${c.schema}`.slice(0, 63);
}

/** Publish job lifecycle events: one NOTIFY per payload, all in one statement. */
export async function pgPublishEvents(c: PgContext, payloads: readonly string[]): Promise<void> {
  if (!payloads.length) return;
  await c.read('publishEvents', (db) =>
    db.query(c.named('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [c.notify.events, payloads])),
  );
}

/** Receive published events on a dedicated connection; `onGap` runs after a reconnection (events meanwhile are lost). */
export async function pgListenEvents(
  c: PgContext,
  onPayload: (payload: string) => void,
  onGap?: () => void,
): Promise<Listening> {
  return listen(
    c,
    'listenEvents',
    [c.notify.events],
    eventsAppName(c),
    (channel, payload) => {
      if (channel === c.notify.events) onPayload(payload);
    },
    onGap,
  );
}

/** Whether any process listens to events now (by the listening connections' name). */
export async function pgEventListeners(c: PgContext): Promise<boolean> {
  // a LISTEN of another session cannot be seen, its connection's name can (same role or pg_read_all_stats)
  return c.read('eventListeners', async (db) => {
    const r = await db.query(
      c.named(
        'SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1) AS e',
        [eventsAppName(c)],
      ),
    );
    return Boolean((r.rows[0] as RawRow | undefined)?.e);
  });
}

/** Send a wake-up to every process. */
export async function pgWake(c: PgContext, topic: WakeTopic): Promise<void> {
  await c.read('wake', (db) => db.query(c.named("SELECT pg_notify($1, '')", [pgWakeChannel(c, topic)])));
}
