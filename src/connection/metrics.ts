/**
 * Command metrics taken from ioredis' own `diagnostics_channel` tracing (`ioredis:command`):
 * count, errors and latency percentiles per command, plus named counters the sources and
 * operators add to (consumed, acked, dead-lettered…). Nothing here sees argument values.
 *
 * @since 0.1.0
 */
import dc from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { Observable, interval, map, type SchedulerLike, asyncScheduler, startWith } from 'rxjs';

/** Figures for one command name. Latencies are in milliseconds. */
export interface CommandStats {
  readonly count: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** A point-in-time copy of a client's metrics. */
export interface MetricsSnapshot {
  /** Commands by lower-case name (`get`, `xreadgroup`, …). */
  readonly commands: Readonly<Record<string, CommandStats>>;
  readonly totalCommands: number;
  readonly totalErrors: number;
  /** Named counters (`stream.consumed`, `stream.acked`, …). */
  readonly counters: Readonly<Record<string, number>>;
}

/** A client's metrics: read a snapshot, or watch snapshots as an Observable. */
export interface ClientMetrics {
  snapshot(): MetricsSnapshot;
  /**
   * Emits a snapshot at once and then every `periodMs`.
   * @param periodMs @defaultValue 1000
   */
  snapshots$(periodMs?: number, scheduler?: SchedulerLike): Observable<MetricsSnapshot>;
  /** Adds `by` (default 1) to a named counter. */
  increment(counter: string, by?: number): void;
  /** Clears every figure. */
  reset(): void;
}

// Log-scale latency buckets: 8 per doubling from 1 µs, so a percentile is within ~9%.
const BUCKETS_PER_DOUBLING = 8;
const BUCKET_COUNT = 40 * BUCKETS_PER_DOUBLING;
const bucketOf = (ms: number): number => {
  const us = ms * 1000;
  if (us <= 1) return 0;
  return Math.min(BUCKET_COUNT - 1, Math.ceil(Math.log2(us) * BUCKETS_PER_DOUBLING));
};
const upperBoundMs = (bucket: number): number => 2 ** (bucket / BUCKETS_PER_DOUBLING) / 1000;

class Histogram {
  count = 0;
  errors = 0;
  sumMs = 0;
  maxMs = 0;
  readonly buckets = new Uint32Array(BUCKET_COUNT);
  record(ms: number): void {
    this.count += 1;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    this.buckets[bucketOf(ms)]! += 1;
  }
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(p * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(upperBoundMs(i), this.maxMs);
    }
    return this.maxMs;
  }
  stats(): CommandStats {
    return {
      count: this.count,
      errors: this.errors,
      p50Ms: round(this.percentile(0.5)),
      p99Ms: round(this.percentile(0.99)),
      maxMs: round(this.maxMs),
      meanMs: this.count === 0 ? 0 : round(this.sumMs / this.count),
    };
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

interface TraceContext {
  readonly command: string;
  readonly serverAddress: string;
  readonly serverPort: number | undefined;
}

/** The context with what the handlers note on it. */
interface Timed extends TraceContext {
  mameyStart?: number;
  mameyFailed?: boolean;
}

/** @internal A sink for traced commands; {@link MetricsRecorder} is the client's. */
interface TraceListener {
  accepts(address: string): boolean;
  onCommand(command: string, ms: number, failed: boolean): void;
}

/**
 * One subscription to the tracing channel per process, shared by all clients: the channel is
 * global, so every client would otherwise see every command N times. Commands are attributed
 * to a client by the server address they went to.
 */
const registry = (() => {
  const listeners = new Set<TraceListener>();
  /** `host:port` per host and port, so a traced command builds no string. */
  const addresses = new Map<string, Map<number | undefined, string>>();
  const addressOf = (host: string, port: number | undefined): string => {
    let ports = addresses.get(host);
    if (ports === undefined) addresses.set(host, (ports = new Map()));
    let address = ports.get(port);
    if (address === undefined) ports.set(port, (address = `${host}:${port ?? ''}`));
    return address;
  };
  // The start time and the failure ride on ioredis' context object of the command (one per
  // command, dropped with it): a WeakMap per command was a measurable share of GC time.
  const handlers = {
    start: (ctx: unknown) => {
      (ctx as Timed).mameyStart = performance.now();
    },
    error: (ctx: unknown) => {
      (ctx as Timed).mameyFailed = true;
    },
    asyncEnd: (raw: unknown) => {
      const ctx = raw as Timed;
      const t0 = ctx.mameyStart;
      if (t0 === undefined) return;
      const ms = performance.now() - t0;
      const address = addressOf(ctx.serverAddress, ctx.serverPort);
      const isError = ctx.mameyFailed === true;
      for (const l of listeners) if (l.accepts(address)) l.onCommand(ctx.command, ms, isError);
    },
  };
  const channel = dc.tracingChannel('ioredis:command');
  return {
    add(l: TraceListener) {
      if (listeners.size === 0) channel.subscribe(handlers as never);
      listeners.add(l);
    },
    remove(l: TraceListener) {
      if (listeners.delete(l) && listeners.size === 0) channel.unsubscribe(handlers as never);
    },
  };
})();

/**
 * A client's metrics. `enabled: false` keeps counters but takes no command figures (and does not
 * subscribe to tracing, which costs every ioredis instance in the process a little).
 *
 * @internal
 */
export class MetricsRecorder implements ClientMetrics, TraceListener {
  #byCommand = new Map<string, Histogram>();
  #counters = new Map<string, number>();
  #addresses = new Set<string>();

  constructor(private readonly enabled: boolean) {
    if (enabled) registry.add(this);
  }

  /** Counts commands sent to this server address (`host:port`) as this client's. */
  watchAddress(address: string): void {
    this.#addresses.add(address);
  }

  accepts(address: string): boolean {
    return this.#addresses.has(address);
  }

  onCommand(command: string, ms: number, failed: boolean): void {
    let h = this.#byCommand.get(command);
    if (h === undefined) {
      h = new Histogram();
      this.#byCommand.set(command, h);
    }
    h.record(ms);
    if (failed) h.errors += 1;
  }

  increment(counter: string, by = 1): void {
    this.#counters.set(counter, (this.#counters.get(counter) ?? 0) + by);
  }

  snapshot(): MetricsSnapshot {
    const commands: Record<string, CommandStats> = {};
    let totalCommands = 0;
    let totalErrors = 0;
    for (const [name, h] of [...this.#byCommand].sort(([a], [b]) => a.localeCompare(b))) {
      commands[name] = h.stats();
      totalCommands += h.count;
      totalErrors += h.errors;
    }
    return { commands, totalCommands, totalErrors, counters: Object.fromEntries(this.#counters) };
  }

  snapshots$(
    periodMs = 1000,
    scheduler: SchedulerLike = asyncScheduler,
  ): Observable<MetricsSnapshot> {
    return interval(periodMs, scheduler).pipe(
      startWith(0),
      map(() => this.snapshot()),
    );
  }

  reset(): void {
    this.#byCommand.clear();
    this.#counters.clear();
  }

  /** Stops taking figures (on client close). */
  dispose(): void {
    if (this.enabled) registry.remove(this);
  }
}
