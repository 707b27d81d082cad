// The form that sets or adjusts the balance, asking for the bearer token when the service wants one.

import { messageOf, request } from './api.js';
import { formatAmount } from './format.js';

const TOKEN_KEY = 'balance-sync.api-token';
const HINTS = {
  set: 'The new balance, e.g. 15000.50 (at most 8 decimals).',
  adjust: 'Added to the balance; negative to subtract, e.g. -25.5.',
};

// sessionStorage: the token lives as long as the tab, never in a file or another tab.
const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

// crypto.randomUUID needs a secure context; the page may be opened over plain http on a LAN.
const newKey = () => `operator-${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')}`;

export function changeForm({ form, onChanged }) {
  const { amount, reason, token: tokenInput } = form.elements;
  const submit = form.querySelector('button[type=submit]');
  const hint = form.querySelector('#amount-hint');
  const tokenRow = form.querySelector('#token-row');
  const message = form.querySelector('#form-message');
  // One Idempotency-Key per intended change: resubmitting the same body after a lost answer
  // cannot apply an adjustment twice; a different body is a new change with a new key.
  let pending = null;

  const say = (kind, text) => {
    message.className = `form-message ${kind}`;
    message.textContent = text;
  };
  const mode = () => form.elements.mode.value;
  const syncMode = () => (hint.textContent = HINTS[mode()]);
  const askForToken = () => {
    tokenRow.hidden = false;
    tokenInput.focus();
  };

  if (token.get()) {
    tokenRow.hidden = false;
    tokenInput.value = token.get();
  }
  syncMode();
  form.addEventListener('change', syncMode);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const input of [amount, reason]) input.removeAttribute('aria-invalid');
    const body = { [mode() === 'set' ? 'balance' : 'delta']: amount.value.trim() };
    if (reason.value.trim()) body.reason = reason.value.trim();
    const text = JSON.stringify(body);
    if (pending?.text !== text) pending = { text, key: newKey() };
    const bearer = tokenInput.value.trim();

    submit.disabled = true;
    say('busy', 'Saving…');
    let result;
    try {
      result = await request('/virtual_balance', {
        method: 'POST',
        body,
        headers: { 'Idempotency-Key': pending.key, ...(bearer && { Authorization: `Bearer ${bearer}` }) },
      });
    } catch {
      say('error', 'Cannot reach the service; the change may or may not have been applied. Apply again to retry it safely.');
      return;
    } finally {
      submit.disabled = false;
    }

    // Only a 401 that asks for a bearer token is ours to answer with the token field.
    if (result.status === 401 && /^bearer\b/i.test(result.headers.get('WWW-Authenticate') ?? '')) {
      token.forget();
      say('error', `${messageOf(result)}. ${bearer ? 'That token was refused; check it' : 'Enter the API token'} and apply again.`);
      askForToken();
      return;
    }
    pending = null;
    if (result.status !== 200) {
      for (const error of result.body?.errors ?? []) {
        const field = error.path === 'reason' ? reason : amount;
        field.setAttribute('aria-invalid', 'true');
      }
      say('error', messageOf(result));
      return;
    }
    if (bearer) token.set(bearer);
    amount.value = '';
    say('ok', `Saved: the balance is ${formatAmount(result.body.balance)} ${result.body.currency ?? ''} (revision ${result.body.revision}).`);
    onChanged(result.body);
  });
}
