// connection.ts: how a Redis connection is named (a redis:// URL or ioredis-style
// options) and the default URL. Kept apart from bullmq.ts, which names bullmq's own
// types, so that the public declarations (client, worker, batch) do not import
// bullmq's: they compile without the optional bullmq package and without @types/node.

/** The Redis options the queue code uses (a subset of ioredis' RedisOptions). */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  /** TLS options (ioredis' `tls`); rediss:// URLs set it to {}. */
  tls?: Record<string, unknown>;
  /** Any other ioredis option, passed through. */
  [option: string]: unknown;
}

/** A Redis URL (redis://[user:password@]host[:port][/db], rediss:// for TLS) or options. */
export type RedisConnection = string | RedisConnectionOptions;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
