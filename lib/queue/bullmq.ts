// bullmq.ts: the one place that loads bullmq (an optional peer dependency), and the
// Redis connection options the queue code hands it. bullmq is required lazily, on
// the first worker or queue client, so `import 'convbert'` never loads it; without
// it the worker and client fail with ERR_CONVBERT_QUEUE saying what to install.
// A connection is a redis:// or rediss:// URL or ioredis-style options.
import { ConvBertError, argError } from '../errors';
import { describe, intOption } from '../validate';
import { DEFAULT_REDIS_URL, type RedisConnection, type RedisConnectionOptions } from './connection';

/** bullmq's module, typed by its own declarations (a type-only import: erased at run time). */
export type BullMQ = typeof import('bullmq');

let cached: BullMQ | null = null;

/** bullmq, or ERR_CONVBERT_QUEUE naming the package to install. */
export function loadBullMQ(): BullMQ {
  if (cached) return cached;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require('bullmq') as BullMQ;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err && err.code === 'MODULE_NOT_FOUND' && /'bullmq'/.test(err.message)) {
      throw new ConvBertError(
        'the queue worker and client need the optional dependency bullmq, which is not installed: run `npm install bullmq` (it brings ioredis) next to convbert',
        'ERR_CONVBERT_QUEUE',
        { cause: e },
      );
    }
    throw new ConvBertError(`loading bullmq failed: ${err && err.message ? err.message : String(e)}`, 'ERR_CONVBERT_QUEUE', { cause: e });
  }
  return cached;
}

export { DEFAULT_REDIS_URL, type RedisConnection, type RedisConnectionOptions };

/** The URL the CLI uses when --redis is not given: REDIS_URL, then redis://127.0.0.1:6379. */
export function defaultRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.REDIS_URL;
  return v !== undefined && v.trim() !== '' ? v.trim() : DEFAULT_REDIS_URL;
}

/**
 * The CLI's --redis: the flag's URL, else REDIS_URL, else the default; checked now
 * (naming the flag or the variable) and returned as options.
 */
export function redisUrlFlag(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): RedisConnectionOptions {
  if (flag !== undefined) return connectionOptions(flag, '--redis');
  return connectionOptions(defaultRedisUrl(env), env.REDIS_URL !== undefined && env.REDIS_URL.trim() !== '' ? 'REDIS_URL' : 'connection');
}

/** Parses a Redis URL into ioredis options; `name` is the argument named in errors. */
export function parseRedisUrl(url: string, name = 'connection'): RedisConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw argError(`${name}: expected a Redis URL like redis://host:6379/0, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw argError(`${name}: expected a redis:// or rediss:// URL, got protocol ${JSON.stringify(u.protocol)}`);
  if (u.hostname === '') throw argError(`${name}: the URL has no host: ${JSON.stringify(url)}`);
  const o: RedisConnectionOptions = { host: u.hostname.replace(/^\[(.*)\]$/, '$1') };
  if (u.port !== '')
    o.port = Number(u.port); // URL already refuses ports outside 0..65535
  else o.port = 6379;
  if (u.username !== '') o.username = decodeURIComponent(u.username);
  if (u.password !== '') o.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '') {
    const n = Number(db);
    if (!/^\d+$/.test(db) || !Number.isSafeInteger(n) || n > 65535)
      throw argError(`${name}: expected a database number after the host (redis://host:6379/0), got ${JSON.stringify(db)}`);
    o.db = n;
  }
  if (u.protocol === 'rediss:') o.tls = {};
  return o;
}

/**
 * ioredis options for bullmq. maxRetriesPerRequest null makes commands wait through a
 * Redis restart (ioredis reconnects and replays them) instead of failing after 20 tries,
 * which is what a worker or a long batch wants; bullmq requires it for its blocking
 * connections anyway.
 */
export function connectionOptions(c: RedisConnection | undefined, name = 'connection'): RedisConnectionOptions {
  if (c === undefined) return { ...parseRedisUrl(defaultRedisUrl(), 'REDIS_URL'), maxRetriesPerRequest: null };
  if (typeof c === 'string') return { ...parseRedisUrl(c, name), maxRetriesPerRequest: null };
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw argError(`${name}: expected a Redis URL or an options object {host, port, ...}, got ${describe(c)}`);
  if (c.port !== undefined) intOption(`${name}.port`, c.port, 0, 0, 65535);
  if (c.host !== undefined && typeof c.host !== 'string') throw argError(`${name}.host: expected a string, got ${describe(c.host)}`);
  return { maxRetriesPerRequest: null, ...c };
}

/** A positive integer option or its default; ERR_CONVBERT_ARG naming it otherwise. */
/**
 * `ready`, or ERR_CONVBERT_QUEUE after `ms` naming the server and the last connection
 * error: ioredis retries for ever (which is what a running worker wants through a Redis
 * restart), so without this a wrong URL at start would wait silently.
 */
export async function connectWithin(ready: Promise<unknown>, ms: number, where: string, lastError: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const why = lastError();
      reject(new ConvBertError(`cannot reach Redis at ${where} within ${ms} ms${why ? `: ${why}` : ''} (connectTimeoutMs)`, 'ERR_CONVBERT_QUEUE'));
    }, ms);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A URL for messages and logs, without the password. */
export function describeConnection(o: RedisConnectionOptions): string {
  const auth = o.username !== undefined ? `${String(o.username)}:***@` : o.password !== undefined ? ':***@' : '';
  return `${o.tls ? 'rediss' : 'redis'}://${auth}${String(o.host ?? '127.0.0.1')}:${String(o.port ?? 6379)}${o.db ? `/${String(o.db)}` : ''}`;
}
