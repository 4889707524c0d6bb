/**
 * The queue's address: `redis://[user:password@]host[:port][/db]`, or
 * `rediss://…` for TLS (certificates checked as Node checks them; a private
 * CA through NODE_EXTRA_CA_CERTS). The password never appears in anything
 * printed: logs and errors show `display`, where it is replaced by `***`.
 */
import type { RedisOptions } from 'ioredis';
import { MultilossError } from '../../errors.js';
import type { RedisClass } from './libraries.js';

export interface QueueLocation {
  /** The address without its password, for logs and errors. */
  display: string;
  options: RedisOptions;
}

/** BullMQ's key prefix and queue name of multiloss sweeps (keys `multiloss:runs:*`, sweep records `multiloss:sweep:ID`). */
export const QUEUE_PREFIX = 'multiloss';
export const QUEUE_NAME = 'runs';

export function parseQueueUrl(url: string, flag = '--queue'): QueueLocation {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The text is not echoed: it may hold a password.
    throw new MultilossError('usage', `${flag}: not a URL; expected redis://[:password@]host[:port][/db] or rediss://… (TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new MultilossError('usage', `${flag}: unsupported scheme ${u.protocol}; expected redis:// or rediss:// (TLS)`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const display = `${u.protocol}//${u.username || u.password ? '***@' : ''}${u.host}/${db}`;
  if (!Number.isInteger(db) || db < 0) throw new MultilossError('usage', `${flag} ${display}: the database must be a whole number ≥ 0, got "${dbText}"`);
  if (host === '') throw new MultilossError('usage', `${flag} ${display}: no host`);
  const tls = u.protocol === 'rediss:';
  return {
    display,
    options: {
      host,
      port,
      db,
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(tls ? { tls: { servername: host } } : {}),
    },
  };
}

/**
 * A Redis connection that waits out outages: commands are held while it
 * reconnects (BullMQ needs maxRetriesPerRequest null), and `onError` hears
 * of each outage once, not of every retry.
 */
export function connect(Redis: RedisClass, location: QueueLocation, onError?: (message: string) => void): InstanceType<RedisClass> {
  const client = new Redis({
    ...location.options,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
  let down = false;
  client.on('error', (e: Error) => {
    if (down) return;
    down = true;
    onError?.(`queue ${location.display} unreachable (${e.message.replace(location.options.password ?? '\u0000', '***')}); reconnecting`);
  });
  client.on('ready', () => {
    down = false;
  });
  return client;
}
