/**
 * Bench harness: each case runs the library and its hand-written raw ioredis equivalent in the
 * same process and run, alternating rounds so both see the same machine state, and reports
 * ops/s and the ratio. Absolute figures on a shared machine are noise; ratios are the result.
 */
import { performance } from 'node:perf_hooks';

export interface Contender {
  readonly name: string;
  /** Runs `ops` operations; resolves when all are done. */
  run(ops: number): Promise<void>;
  /** For a compared contender: the ratio ours must reach against it, e.g. 0.9. */
  readonly target?: number;
}

export interface CaseResult {
  readonly case: string;
  readonly ours: { name: string; opsPerSec: number };
  readonly others: ReadonlyArray<{
    name: string;
    opsPerSec: number;
    ratio: number;
    target?: number;
  }>;
}

export interface BenchCase {
  readonly name: string;
  readonly ops: number;
  readonly rounds?: number;
  /**
   * Full rounds (of `ops`) each contender runs, alternating, before the measured ones; for a case
   * whose contenders reach their steady speed only after several full rounds (the JIT has more
   * code to optimise on one side than on the other). Omitted: one round of `ops / 10` each.
   */
  readonly warmupRounds?: number;
  readonly ours: Contender;
  readonly others: ReadonlyArray<Contender>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Warms every contender up, then runs `rounds` alternating rounds; keeps the median per contender. */
export const runCase = async (c: BenchCase): Promise<CaseResult> => {
  const rounds = c.rounds ?? 7;
  const all = [c.ours, ...c.others];
  // Alternate the order so neither side always runs on a warmer (or more tired) machine.
  const orderOf = (r: number): number[] =>
    r % 2 === 0 ? all.map((_, i) => i) : all.map((_, i) => all.length - 1 - i);
  if (c.warmupRounds === undefined)
    for (const x of all) await x.run(Math.max(1, Math.floor(c.ops / 10)));
  else
    for (let r = 0; r < c.warmupRounds; r++) for (const i of orderOf(r)) await all[i]!.run(c.ops);
  const samples = all.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const i of orderOf(r)) {
      const t0 = performance.now();
      await all[i]!.run(c.ops);
      samples[i]!.push(c.ops / ((performance.now() - t0) / 1000));
    }
  }
  const [ours, ...others] = samples.map(median);
  return {
    case: c.name,
    ours: { name: c.ours.name, opsPerSec: ours! },
    others: c.others.map((o, i) => ({
      name: o.name,
      opsPerSec: others[i]!,
      ratio: ours! / others[i]!,
      ...(o.target !== undefined ? { target: o.target } : {}),
    })),
  };
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A Markdown table of results, as pasted into the README and issue notes. */
export const table = (results: ReadonlyArray<CaseResult>): string => {
  const rows = [
    '| case | ours (ops/s) | compared with | theirs (ops/s) | ratio | target | met |',
    '| --- | ---: | --- | ---: | ---: | ---: | :---: |',
  ];
  for (const r of results) {
    for (const [i, o] of r.others.entries()) {
      rows.push(
        `| ${i === 0 ? r.case : ''} | ${i === 0 ? fmt(r.ours.opsPerSec) : ''} | ${o.name} | ${fmt(
          o.opsPerSec,
        )} | ${o.ratio.toFixed(2)}× | ${o.target !== undefined ? `≥ ${o.target}×` : ''} | ${
          o.target === undefined ? '' : o.ratio >= o.target ? 'yes' : 'NO'
        } |`,
      );
    }
  }
  return rows.join('\n');
};
