/** A duration as operators write it: `90s`, `30m`, `12h`, `7d`, or combinations like `1d12h`. */
const PART = /(\d+)\s*(ms|s|m|h|d)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string, option: string): number {
  const trimmed = text.trim();
  if (!/^(\d+\s*(ms|s|m|h|d)\s*)+$/.test(trimmed)) throw new UsageError(`${option} must be a duration like 90s, 30m, 12h, 7d or 1d12h; got "${text}"`);
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 0);
  if (total <= 0) throw new UsageError(`${option} must be longer than zero; got "${text}"`);
  return total;
}

/** An instant: an ISO-8601 date-time, or a duration ago (for --since). */
export function parseInstant(text: string, option: string, nowMs: number, direction: 'past' | 'future'): number {
  const asDate = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(asDate)) return asDate;
  const ms = parseDuration(text, option);
  return direction === 'past' ? nowMs - ms : nowMs + ms;
}

/** The command line is wrong: exit status 2, with what to write instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
