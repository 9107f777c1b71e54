/**
 * Fixed, locale-free formatting for the simulator's output. Dates are whole days since
 * 1970-01-01 (UTC) and money is integer cents, so no floating-point drift reaches a file.
 */

/** Days since epoch of a civil date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date [year, month 1-12, day] of a day number. */
export function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

// Cache of formatted dates: the simulator formats the same few thousand days millions of times.
const DATE_CACHE_BASE = daysFromCivil(1900, 1, 1);
const dateCache: string[] = [];

/** YYYY-MM-DD of a day number. */
export function isoDate(day: number): string {
  const k = day - DATE_CACHE_BASE;
  const hit = dateCache[k];
  if (hit !== undefined) return hit;
  const [y, m, d] = civilFromDays(day);
  const s = `${y}-${pad2(m)}-${pad2(d)}`;
  if (k >= 0 && k < 80_000) dateCache[k] = s;
  return s;
}

/** ISO 8601 UTC timestamp of a day number plus minutes into that day (may exceed a day). */
export function isoTimestamp(day: number, minuteOfDay: number, second = 0): string {
  const extraDays = Math.floor(minuteOfDay / 1440);
  const mins = minuteOfDay - extraDays * 1440;
  return `${isoDate(day + extraDays)}T${pad2(Math.floor(mins / 60))}:${pad2(mins % 60)}:${pad2(second)}Z`;
}

/** Day number of the first day of the month `monthIndex` months after (year, month). */
export function monthStart(year: number, month: number, monthIndex: number): number {
  const total = year * 12 + (month - 1) + monthIndex;
  return daysFromCivil(Math.floor(total / 12), (total % 12) + 1, 1);
}

/** Number of days in the month starting at the given day number. */
export function daysInMonth(firstDay: number): number {
  const [y, m] = civilFromDays(firstDay);
  return daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - firstDay;
}

/** Adds whole months to a day number, clamping the day of month (Jan 31 + 1 → Feb 28/29). */
export function addMonths(day: number, months: number): number {
  const [y, m, d] = civilFromDays(day);
  const first = monthStart(y, m, months);
  return first + Math.min(d, daysInMonth(first)) - 1;
}

/** Cents as a decimal string with 2 places ("-12.50"). */
export function money(cents: number): string {
  const c = Math.round(cents);
  const abs = c < 0 ? -c : c;
  const frac = abs % 100;
  return `${c < 0 ? "-" : ""}${Math.floor(abs / 100)}.${frac < 10 ? `0${frac}` : frac}`;
}

/** A float with a fixed number of decimals (deterministic, no exponent for sane values). */
export function fixed(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

/** Zero-padded integer. */
export function padInt(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Parses YYYY-MM into [year, month]; null when malformed. */
export function parseYearMonth(s: string): [number, number] | null {
  const m = /^([0-9]{4})-([0-9]{2})$/.exec(s);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 1 || month > 12 || year < 1990 || year > 2100) return null;
  return [year, month];
}
