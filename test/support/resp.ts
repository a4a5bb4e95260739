/**
 * A minimal one-shot RESP2 client for the harness itself: readiness probes, CLUSTER INFO/NODES,
 * SENTINEL and INFO queries.
 *
 * The harness talks to its servers without ioredis on purpose: it must work before and while
 * the library and its client are under test, its probes must never retry or queue, and every
 * socket is closed before the call returns, so no handle outlives a probe.
 *
 * @packageDocumentation
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

/** A decoded RESP2 reply. Errors are returned as {@link RespError}, not thrown. */
export type RespReply = string | number | null | RespError | RespReply[];

/** An error reply (`-ERR …`, `-NOAUTH …`, `-LOADING …`). */
export class RespError {
  constructor(readonly message: string) {}
}

/** Where and how to connect for {@link sendCommand}. */
export interface RespTarget {
  readonly host: string;
  readonly port: number;
  /** Use TLS, trusting this CA (PEM). */
  readonly tlsCa?: string | undefined;
  /** Sent with AUTH before the command. */
  readonly password?: string | undefined;
  /** Sent with AUTH before the command (needs `password`). */
  readonly username?: string | undefined;
  /**
   * Connect + reply timeout.
   * @defaultValue 2000
   */
  readonly timeoutMs?: number;
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Parses one reply at `offset`; `undefined` when the buffer does not hold a whole reply yet. */
function parse(buf: Buffer, offset: number): { reply: RespReply; next: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: line, next: afterLine };
    case '-':
      return { reply: new RespError(line), next: afterLine };
    case ':':
      return { reply: Number(line), next: afterLine };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: null, next: afterLine };
      if (buf.length < afterLine + len + 2) return undefined;
      return { reply: buf.toString('utf8', afterLine, afterLine + len), next: afterLine + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, next: afterLine };
      const items: RespReply[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, next);
        if (item === undefined) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

/**
 * Opens a connection, optionally authenticates, sends one command, returns its reply and closes.
 *
 * @param target - server address, TLS CA, credentials, timeout
 * @param args - the command and its arguments, e.g. `['CLUSTER', 'INFO']`
 * @returns the reply; an error reply is returned as {@link RespError}
 * @throws Error on connection failure, timeout or a failed AUTH
 */
export function sendCommand(target: RespTarget, args: readonly string[]): Promise<RespReply> {
  const { host, port, tlsCa, password, username, timeoutMs = 2000 } = target;
  const commands: (readonly string[])[] = [];
  if (password !== undefined)
    commands.push(username === undefined ? ['AUTH', password] : ['AUTH', username, password]);
  commands.push(args);

  return new Promise((resolve, reject) => {
    const socket: net.Socket =
      tlsCa === undefined
        ? net.connect({ host, port })
        : tls.connect({
            host,
            port,
            ca: tlsCa,
            servername: host === '127.0.0.1' ? undefined : host,
          });
    const replies: RespReply[] = [];
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, reply?: RespReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply ?? null);
    };
    const timer = setTimeout(
      () =>
        finish(new Error(`${host}:${port} did not answer ${args[0] ?? ''} within ${timeoutMs}ms`)),
      timeoutMs,
    );
    socket.once(tlsCa === undefined ? 'connect' : 'secureConnect', () => {
      socket.write(commands.map(encode).join(''));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (;;) {
          const parsed = parse(buf, 0);
          if (parsed === undefined) return;
          buf = buf.subarray(parsed.next);
          replies.push(parsed.reply);
          if (replies.length === commands.length) {
            const auth = commands.length > 1 ? replies[0] : undefined;
            if (auth instanceof RespError) finish(new Error(`AUTH failed: ${auth.message}`));
            else finish(undefined, replies[replies.length - 1]);
            return;
          }
        }
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.once('error', (err) => finish(err));
    socket.once('close', () =>
      finish(new Error(`${host}:${port} closed the connection before answering`)),
    );
  });
}

/**
 * Like {@link sendCommand} but requires a bulk/simple string reply.
 *
 * @returns the reply text
 * @throws Error when the reply is an error or not a string
 */
export async function sendForText(target: RespTarget, args: readonly string[]): Promise<string> {
  const reply = await sendCommand(target, args);
  if (typeof reply === 'string') return reply;
  if (reply instanceof RespError) throw new Error(`${args.join(' ')}: ${reply.message}`);
  throw new Error(`${args.join(' ')}: expected a string reply, got ${JSON.stringify(reply)}`);
}

/**
 * Parses `INFO`/`CLUSTER INFO` text (`field:value` lines) into a record.
 *
 * @param text - the reply text
 * @returns field → value
 */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}
