/** Console helpers for the demo. */
export const title = (text: string): void =>
  console.log(`\n== ${text} ${'='.repeat(Math.max(0, 70 - text.length))}`);
export const say = (text: string): void => console.log(`  ${text}`);
export const table = (head: string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): void => {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells) console.log('  ' + r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
};
