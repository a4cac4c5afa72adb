/** A duration as operators write it: `90s`, `30m`, `12h`, `7d`, or combinations like `1d12h`. */
const PART = /(\d+)\s*(ms|s|m|h|d)/g;
const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

export function parseDuration(text: string, option: string): number {
  const trimmed = text.trim();
  if (!/^(\d+\s*(ms|s|m|h|d)\s*)+$/.test(trimmed)) throw new UsageError(`${option} must be a duration like 90s, 30m, 12h, 7d or 1d12h; got "${text}"`);
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 0);
  if (total <= 0) throw new UsageError(`${option} must be longer than zero; got "${text}"`);
  return total;
}

/** An instant: an ISO-8601 date-time, a duration ago (or ahead), or `today` / `yesterday` (their start, UTC). */
export function parseInstant(text: string, option: string, nowMs: number, direction: 'past' | 'future'): number {
  const asDate = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(asDate)) return asDate;
  const startOfTodayMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  if (direction === 'past' && text.trim() === 'today') return startOfTodayMs;
  if (direction === 'past' && text.trim() === 'yesterday') return startOfTodayMs - DAY_MS;
  if (!/^(\d+\s*(ms|s|m|h|d)\s*)+$/.test(text.trim())) {
    const words = direction === 'past' ? ', today or yesterday' : '';
    throw new UsageError(`${option} must be an ISO-8601 time (2026-12-31T09:00:00Z), a duration like 90s, 30m, 12h or 7d${words}; got "${text}"`);
  }
  const ms = parseDuration(text, option);
  return direction === 'past' ? nowMs - ms : nowMs + ms;
}

/** The command line is wrong: exit status 2, with what to write instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
