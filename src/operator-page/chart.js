// The balance over time: a uPlot step chart of the history, grown by each live event.

import uPlot from '/balance-sync/vendor/uPlot.esm.js';
import { formatAmount } from './format.js';

const MAX_POINTS = 1000;
const TICKS = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const BIG_TICKS = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 3 });

function options(width) {
  return {
    width,
    height: width < 500 ? 200 : 260,
    scales: { x: { time: true } },
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    series: [
      {},
      {
        label: 'Balance',
        stroke: '#2563eb',
        width: 2,
        fill: 'rgba(37, 99, 235, 0.08)',
        // The balance holds its value until the next change: a step, not a slope.
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { size: 5 },
      },
    ],
    axes: [
      { stroke: '#52606d', grid: { stroke: '#eef1f5' } },
      {
        stroke: '#52606d',
        grid: { stroke: '#eef1f5' },
        size: 72,
        values: (_u, splits) => splits.map((v) => (Math.abs(v) >= 1e7 ? BIG_TICKS : TICKS).format(v)),
      },
    ],
  };
}

/** Points are keyed by revision, so the history and the stream can both deliver one without doubling it. */
export function balanceChart({ area, caption }) {
  let points = new Map();
  const plot = new uPlot(options(area.clientWidth || 600), [[], []], area);
  new ResizeObserver(() => plot.setSize({ width: area.clientWidth, height: area.clientWidth < 500 ? 200 : 260 })).observe(area);

  function render() {
    const sorted = [...points.values()].sort((a, b) => a.time - b.time || a.revision - b.revision).slice(-MAX_POINTS);
    points = new Map(sorted.map((point) => [point.revision, point]));
    plot.setData([sorted.map((p) => p.time), sorted.map((p) => Number(p.balance))]);
    const first = sorted[0];
    const last = sorted.at(-1);
    caption.textContent = last
      ? `${sorted.length} ${sorted.length === 1 ? 'point' : 'points'}, latest ${formatAmount(last.balance)} at revision ${last.revision}`
      : 'No history yet';
    caption.title = first ? `since ${new Date(first.time * 1000).toLocaleString()}` : '';
  }

  const point = (revision, at, balance) => ({ revision: Number(revision), time: Date.parse(at) / 1000, balance });

  return {
    /** The history (newest first) replaces what is shown; points the stream brought since stay. */
    replace(entries) {
      const newest = entries.reduce((max, entry) => Math.max(max, entry.revision), -Infinity);
      const kept = [...points.values()].filter((p) => p.revision > newest);
      points = new Map([...entries.map((e) => point(e.revision, e.at, e.balance)), ...kept].map((p) => [p.revision, p]));
      render();
    },
    add({ revision, last_updated, balance }) {
      if (points.has(Number(revision))) return;
      points.set(Number(revision), point(revision, last_updated, balance));
      render();
    },
  };
}
