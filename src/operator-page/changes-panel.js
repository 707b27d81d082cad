// The latest changes: time, source, reason and previous → new, newest first.

import { el } from './dom.js';
import { formatAmount, formatDelta, formatTime } from './format.js';

const SHOWN = 20;

const KINDS = { api: 'API', reset: 'reset', startup: 'start-up', external: 'edit of' };

// `external:auto_trading_state.json` reads better as a label plus the file's name; across hosts the
// source ends in `@<HOST_ID>`, shown as "on <host>".
function sourceLabel(source = '') {
  const [local = '', host] = source.split(/@(?=[^@]*$)/);
  const [kind = '', file] = local.split(/:(.*)/s);
  return el(
    'span',
    { class: `source source-${kind}`, title: source },
    KINDS[kind] ?? kind,
    file ? ' ' : null,
    file ? el('code', { text: file }) : null,
    host ? ` on ${host}` : null,
  );
}

function row(entry) {
  const delta = formatDelta(entry.previous, entry.balance);
  return el(
    'tr',
    { 'data-revision': entry.revision },
    el('td', { class: 'when' }, el('time', { datetime: entry.at, text: formatTime(entry.at, { compact: true }) }), el('span', { class: 'muted', text: ` r${entry.revision}` })),
    el('td', {}, sourceLabel(entry.source)),
    el(
      'td',
      { class: 'change amount' },
      el('span', { class: 'previous', text: formatAmount(entry.previous) }),
      ' → ',
      el('span', { class: 'next', text: formatAmount(entry.balance) }),
      delta ? el('span', { class: 'delta muted', text: ` (${delta})` }) : null,
    ),
    el('td', { class: 'reason', text: entry.reason ?? '' }),
  );
}

export function changesPanel({ body, empty }) {
  return {
    show(entries) {
      body.replaceChildren(...entries.slice(0, SHOWN).map(row));
      empty.hidden = entries.length > 0;
    },
  };
}
