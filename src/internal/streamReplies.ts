/**
 * Reply parsers for the stream commands: all knowledge of XREAD/XREADGROUP/XRANGE/XAUTOCLAIM/
 * XPENDING/XINFO reply shapes lives here. They accept both the RESP2 (legacy) shapes and the
 * RESP3 map shapes, so a protocol change is caught by the unit tests, not by a consumer.
 *
 * @internal
 */

/** A stream field map as Redis stores it. */
export type StreamFields = Record<string, string>;

/** One entry as read: `fields` is `null` when the entry was deleted but is still pending. */
export interface RawEntry {
  readonly id: string;
  readonly fields: StreamFields | null;
}

/** Thrown when a reply does not have the shape a command documents (a bug or a proxy). */
export class UnexpectedReply extends Error {
  override readonly name = 'UnexpectedReply';
  constructor(command: string, detail: string) {
    super(`unexpected ${command} reply: ${detail}`);
  }
}

const isArray = Array.isArray as (x: unknown) => x is unknown[];

const str = (x: unknown, command: string): string => {
  if (typeof x === 'string') return x;
  if (Buffer.isBuffer(x)) return x.toString('utf8');
  if (typeof x === 'number') return String(x);
  throw new UnexpectedReply(command, `expected a string, got ${typeof x}`);
};

/** `[f1, v1, f2, v2, …]` (or a RESP3 map object) → `{ f1: v1, … }`. */
export const parseFields = (reply: unknown, command = 'stream'): StreamFields | null => {
  if (reply === null || reply === undefined) return null;
  const out: StreamFields = {};
  if (isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2)
      out[str(reply[i], command)] = str(reply[i + 1], command);
    return out;
  }
  if (reply instanceof Map) {
    for (const [k, v] of reply) out[str(k, command)] = str(v, command);
    return out;
  }
  throw new UnexpectedReply(command, 'field list is not an array');
};

/** `[[id, [f, v, …] | null], …]` → entries (XRANGE, and each stream of XREAD). */
export const parseEntries = (reply: unknown, command = 'XRANGE'): RawEntry[] => {
  if (reply === null || reply === undefined) return [];
  if (!isArray(reply)) throw new UnexpectedReply(command, 'entries are not an array');
  return reply.map((e) => {
    if (!isArray(e)) throw new UnexpectedReply(command, 'entry is not an array');
    return { id: str(e[0], command), fields: parseFields(e[1], command) };
  });
};

/**
 * XREAD / XREADGROUP → entries per stream key. `null` (BLOCK timed out) is no streams. RESP2
 * gives `[[key, entries], …]`; RESP3 without a reply mapping gives a map (`Map`, an object, or
 * ioredis' flat `[key, entries, key, entries]`).
 */
export const parseRead = (
  reply: unknown,
  command = 'XREAD',
): Array<{ readonly key: string; readonly entries: RawEntry[] }> => {
  if (reply === null || reply === undefined) return [];
  if (reply instanceof Map)
    return [...reply].map(([k, v]) => ({
      key: str(k, command),
      entries: parseEntries(v, command),
    }));
  if (isArray(reply)) {
    if (reply.length === 0) return [];
    if (isArray(reply[0]))
      return reply.map((s) => {
        if (!isArray(s)) throw new UnexpectedReply(command, 'stream is not an array');
        return { key: str(s[0], command), entries: parseEntries(s[1], command) };
      });
    const out: Array<{ key: string; entries: RawEntry[] }> = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      out.push({ key: str(reply[i], command), entries: parseEntries(reply[i + 1], command) });
    return out;
  }
  if (typeof reply === 'object')
    return Object.entries(reply as Record<string, unknown>).map(([k, v]) => ({
      key: k,
      entries: parseEntries(v, command),
    }));
  throw new UnexpectedReply(command, `got ${typeof reply}`);
};

/** The entries of one stream in an XREAD/XREADGROUP reply (there is only one in our reads). */
export const parseReadOne = (reply: unknown, key: string, command = 'XREAD'): RawEntry[] =>
  parseRead(reply, command).find((s) => s.key === key)?.entries ?? [];

/** XAUTOCLAIM → the next cursor, the claimed entries, and ids deleted from the stream. */
export interface AutoClaimReply {
  readonly next: string;
  readonly entries: RawEntry[];
  /** Redis ≥ 7 removes deleted entries from the PEL and lists them here; 6.2 returns nil entries. */
  readonly deleted: string[];
}

export const parseAutoClaim = (reply: unknown): AutoClaimReply => {
  if (!isArray(reply) || reply.length < 2) throw new UnexpectedReply('XAUTOCLAIM', 'too short');
  const deleted = isArray(reply[2]) ? reply[2].map((x) => str(x, 'XAUTOCLAIM')) : [];
  return {
    next: str(reply[0], 'XAUTOCLAIM'),
    entries: parseEntries(reply[1], 'XAUTOCLAIM'),
    deleted,
  };
};

/** One row of the extended XPENDING form. */
export interface PendingRow {
  readonly id: string;
  readonly consumer: string;
  readonly idleMs: number;
  readonly deliveries: number;
}

/** `XPENDING key group start end count [consumer]` → rows. */
export const parsePendingRows = (reply: unknown): PendingRow[] => {
  if (reply === null || reply === undefined) return [];
  if (!isArray(reply)) throw new UnexpectedReply('XPENDING', 'not an array');
  return reply.map((r) => {
    if (!isArray(r) || r.length < 4) throw new UnexpectedReply('XPENDING', 'row too short');
    return {
      id: str(r[0], 'XPENDING'),
      consumer: str(r[1], 'XPENDING'),
      idleMs: Number(r[2]),
      deliveries: Number(r[3]),
    };
  });
};

/** `XPENDING key group` (summary) → total and per-consumer counts. */
export interface PendingSummary {
  readonly count: number;
  readonly smallestId: string | null;
  readonly greatestId: string | null;
  readonly consumers: Readonly<Record<string, number>>;
}

export const parsePendingSummary = (reply: unknown): PendingSummary => {
  if (!isArray(reply) || reply.length < 4) throw new UnexpectedReply('XPENDING', 'too short');
  const consumers: Record<string, number> = {};
  if (isArray(reply[3]))
    for (const c of reply[3]) {
      if (isArray(c)) consumers[str(c[0], 'XPENDING')] = Number(c[1]);
    }
  return {
    count: Number(reply[0]),
    smallestId: reply[1] === null ? null : str(reply[1], 'XPENDING'),
    greatestId: reply[2] === null ? null : str(reply[2], 'XPENDING'),
    consumers,
  };
};

/** One group of `XINFO GROUPS`. `lag`/`entriesRead` are `null` when Redis cannot tell (< 7). */
export interface GroupInfo {
  readonly name: string;
  readonly consumers: number;
  readonly pending: number;
  readonly lastDeliveredId: string;
  readonly entriesRead: number | null;
  readonly lag: number | null;
}

const toRecord = (x: unknown, command: string): Record<string, unknown> => {
  if (x instanceof Map) return Object.fromEntries([...x].map(([k, v]) => [str(k, command), v]));
  if (isArray(x)) {
    const out: Record<string, unknown> = {};
    for (let i = 0; i + 1 < x.length; i += 2) out[str(x[i], command)] = x[i + 1];
    return out;
  }
  if (typeof x === 'object' && x !== null) return x as Record<string, unknown>;
  throw new UnexpectedReply(command, 'not a map');
};

const numOrNull = (x: unknown): number | null => (x === null || x === undefined ? null : Number(x));

export const parseGroups = (reply: unknown): GroupInfo[] => {
  if (!isArray(reply)) throw new UnexpectedReply('XINFO GROUPS', 'not an array');
  return reply.map((g) => {
    const r = toRecord(g, 'XINFO GROUPS');
    return {
      name: str(r['name'], 'XINFO GROUPS'),
      consumers: Number(r['consumers'] ?? 0),
      pending: Number(r['pending'] ?? 0),
      lastDeliveredId: str(r['last-delivered-id'] ?? '0-0', 'XINFO GROUPS'),
      entriesRead: numOrNull(r['entries-read']),
      lag: numOrNull(r['lag']),
    };
  });
};

/** Compares two stream ids (`ms-seq`) numerically. */
export const compareIds = (a: string, b: string): number => {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
};
