// The operator page: follows the event stream and keeps every panel in step with it.

import { request } from './api.js';
import { balanceChart } from './chart.js';
import { changeForm } from './change-form.js';
import { changesPanel } from './changes-panel.js';
import { coalesce } from './coalesce.js';
import { byId } from './dom.js';
import { filesPanel } from './files-panel.js';
import { formatAmount, formatTime } from './format.js';
import { hostsPanel } from './hosts-panel.js';
import { followBalance } from './live.js';

const HISTORY = '/virtual_balance/history?limit=1000';
const HEALTH_EVERY_MS = 5_000;
const STATES = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Disconnected: reconnecting…',
};

const hosts = hostsPanel({ section: byId('hosts-section'), summary: byId('hosts-summary'), list: byId('hosts') });
const files = filesPanel({ summary: byId('agreement'), list: byId('files'), onHealth: hosts.show });
const changes = changesPanel({ body: byId('changes'), empty: byId('no-changes') });
const chart = balanceChart({ area: byId('chart'), caption: byId('chart-caption') });

let shownRevision = -1;

function showBalance({ balance, currency, revision, last_updated }) {
  shownRevision = revision;
  const figure = byId('balance');
  figure.textContent = formatAmount(balance);
  // Up to a trillion with 8 decimals: a smaller figure rather than one broken over three lines.
  figure.parentElement.classList.toggle('long', figure.textContent.length > 14);
  byId('currency').textContent = currency ?? '';
  byId('revision').textContent = String(revision);
  const updated = byId('updated');
  updated.dateTime = last_updated ?? '';
  updated.textContent = formatTime(last_updated);
}

function showStreamState(state) {
  const mark = byId('stream-state');
  mark.dataset.state = state;
  mark.lastElementChild.textContent = STATES[state];
  // The figures stay visible while disconnected, but greyed: they may be out of date.
  document.body.classList.toggle('stale', state !== 'live');
  // Say at once whether the service itself is gone, rather than at the next health poll.
  if (state === 'reconnecting') void refreshFiles();
}

const refreshHistory = coalesce(async () => {
  const { status, body } = await request(HISTORY);
  if (status !== 200 || !Array.isArray(body?.entries)) return;
  chart.replace(body.entries);
  changes.show(body.entries);
});
const refreshFiles = coalesce(files.refresh);

function onBalance(body) {
  showBalance(body);
  chart.add(body);
  void refreshHistory();
  void refreshFiles();
}

// The stream is the truth and arrives in order; a form's answer may arrive after a newer event.
const onSaved = (body) => (body.revision > shownRevision ? onBalance(body) : undefined);

changeForm({ form: byId('change-form'), onChanged: onSaved });
followBalance({ onBalance, onState: showStreamState });
setInterval(refreshFiles, HEALTH_EVERY_MS);
