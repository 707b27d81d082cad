// The event stream: each `balance` event, and whether the stream is connected right now.

import { parseExact } from './api.js';

const EVENTS = '/virtual_balance/events';
// EventSource retries network errors by itself; it gives up (CLOSED) only on an answer that is not
// an event stream (a proxy's 502, say), and then we start over after a pause.
const RESTART_AFTER_MS = 5_000;

/** `onState` gets 'connecting', 'live' or 'reconnecting'. */
export function followBalance({ onBalance, onState }) {
  const open = () => {
    const source = new EventSource(EVENTS);
    onState('connecting');
    source.addEventListener('open', () => onState('live'));
    source.addEventListener('balance', (event) => onBalance(parseExact(event.data)));
    source.addEventListener('error', () => {
      onState('reconnecting');
      if (source.readyState === EventSource.CLOSED) setTimeout(open, RESTART_AFTER_MS);
    });
  };
  open();
}
