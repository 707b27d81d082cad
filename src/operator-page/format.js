// How amounts and times are shown: amounts keep every digit the API sent, only grouped.

const SCALE = 8;
const DECIMAL = new Intl.NumberFormat().formatToParts(1.5).find((part) => part.type === 'decimal')?.value ?? '.';
const WHOLE = new Intl.NumberFormat(undefined, { useGrouping: true, maximumFractionDigits: 0 });
const PLAIN = /^(-?)(\d+)(?:\.(\d+))?$/;

/** An exact decimal text ("9974.5") as a bigint count of 1e-8, or null when it is not one. */
export function toUnits(text) {
  const match = PLAIN.exec(String(text ?? ''));
  if (!match) return null;
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > SCALE) return null;
  const units = BigInt(whole + fraction.padEnd(SCALE, '0'));
  return sign ? -units : units;
}

function fromUnits(units) {
  const abs = units < 0n ? -units : units;
  const digits = abs.toString().padStart(SCALE + 1, '0');
  const fraction = digits.slice(-SCALE).replace(/0+$/, '');
  return `${units < 0n ? '-' : ''}${digits.slice(0, -SCALE)}${fraction ? `.${fraction}` : ''}`;
}

/** Groups the whole part in the reader's locale; the fraction is shown digit for digit, never rounded. */
export function formatAmount(text) {
  const match = PLAIN.exec(String(text ?? ''));
  if (!match) return text === null || text === undefined ? '—' : String(text);
  const [, sign, whole, fraction] = match;
  return `${sign ? '−' : ''}${WHOLE.format(BigInt(whole))}${fraction ? DECIMAL + fraction : ''}`;
}

/** `next − previous` with its sign, computed exactly. */
export function formatDelta(previous, next) {
  const [a, b] = [toUnits(previous), toUnits(next)];
  if (a === null || b === null) return '';
  const delta = b - a;
  if (delta === 0n) return '±0';
  return `${delta > 0n ? '+' : ''}${formatAmount(fromUnits(delta))}`;
}

export const sameAmount = (a, b) => {
  const [x, y] = [toUnits(a), toUnits(b)];
  return x !== null && x === y;
};

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const TIME = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const SHORT_DATE_TIME = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A timestamp in the reader's time zone; `compact` drops today's date. */
export function formatTime(iso, { compact = false } = {}) {
  const date = new Date(iso ?? NaN);
  if (Number.isNaN(date.getTime())) return '—';
  if (!compact) return DATE_TIME.format(date);
  return date.toDateString() === new Date().toDateString() ? TIME.format(date) : SHORT_DATE_TIME.format(date);
}
