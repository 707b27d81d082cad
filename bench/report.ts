// The table of a run: each figure beside its baseline, the ratio, the target and whether it is met;
// printed, and written to bench/results/.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Row {
  figure: string;
  value: number;
  baseline: number | null;
  unit: string;
  ratio: number | null;
  target: string;
  met: boolean;
  /** What the table has no column for (both sides of a difference, counts); printed under it. */
  note?: string;
}

const rows: Row[] = [];
/** Sections that could not run here, and why: said under the table, so a missing row is never silent. */
const skips: { section: string; why: string }[] = [];

export function skipped(section: string, why: string): void {
  skips.push({ section, why });
}

export function record(row: {
  figure: string;
  value: number;
  baseline?: number | null;
  unit: string;
  target: string;
  /** Given the ratio to the baseline, or the value itself when there is no ratio. */
  met: (measured: number) => boolean;
  /** false: the baseline is shown but the target is absolute (a difference, not a ratio). */
  ratio?: boolean;
  note?: string;
}): void {
  const baseline = row.baseline ?? null;
  const ratio = baseline === null || row.ratio === false ? null : row.value / baseline;
  rows.push({
    figure: row.figure,
    value: row.value,
    baseline,
    unit: row.unit,
    ratio,
    target: row.target,
    met: row.met(ratio ?? row.value),
    ...(row.note !== undefined && { note: row.note }),
  });
}

const fmt = (n: number | null) => (n === null ? '—' : Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));

/** `partial`: some sections only (`--only`), written beside the full run's results, not over them. */
export async function report(quick: boolean, partial: boolean): Promise<void> {
  const table = [
    '| figure | balance-sync | baseline | ratio | target | met |',
    '|---|---:|---:|---:|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${fmt(r.value)} | ${fmt(r.baseline)} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.target} | ${r.met ? 'yes' : '**no**'} |`),
  ].join('\n');
  const notes = [...rows.flatMap((r) => (r.note ? [`- ${r.figure}: ${r.note}`] : [])), ...skips.map((s) => `- section ${s.section} skipped: ${s.why}`)].join('\n');
  process.stdout.write(`\nbalance-sync benchmark${quick ? ' (quick)' : ''} — node ${process.version}\n\n${table}\n${notes ? `\n${notes}\n` : ''}`);
  const out = join(import.meta.dirname, '..', '..', 'bench', 'results');
  await mkdir(out, { recursive: true });
  const name = `${partial ? 'partial' : quick ? 'quick' : 'latest'}.json`;
  await writeFile(join(out, name), JSON.stringify({ at: new Date().toISOString(), quick, partial, node: process.version, rows, skipped: skips }, null, 2));
  process.stdout.write(`\n(written to bench/results/${name})\n`);
}
