// Numbers, sizes and times as the chosen language writes them (`i18n.locale`; reading it makes
// markup that calls these follow a language switch).
import { i18n, type Locale } from "./i18n";

const cache = new Map<string, Intl.NumberFormat | Intl.RelativeTimeFormat | Intl.DateTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.RelativeTimeFormat | Intl.DateTimeFormat>(key: string, make: (l: Locale) => T): T {
  const locale = i18n.locale;
  const k = `${locale}:${key}`;
  let f = cache.get(k) as T | undefined;
  if (!f) cache.set(k, (f = make(locale)));
  return f;
}

/** `n` with exactly `digits` decimals, no grouping: `2.0`, `851`. */
export function decimal(n: number, digits: number): string {
  return cached(`d${digits}`, (l) => new Intl.NumberFormat(l, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false })).format(n);
}

export function bytes(n: number | null | undefined): string {
  if (n == null || n < 0) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${decimal(v, v >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

/** "3 minutes ago" ("3 分前") from a unix time in seconds. */
export function ago(unixSeconds: number, now = Date.now()): string {
  const s = Math.max(0, Math.round(now / 1000 - unixSeconds));
  const steps: [number, Intl.RelativeTimeFormatUnit][] = [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"]];
  const rtf = cached("ago", (l) => new Intl.RelativeTimeFormat(l, { numeric: "always" }));
  let v = s;
  for (const [size, unit] of steps) {
    if (v < size) return rtf.format(-v, unit);
    v = Math.floor(v / size);
  }
  return rtf.format(-v, "year");
}

/** A date and time (an RFC 3339 string or a Date). */
export function dateTime(when: string | Date): string {
  return cached("dt", (l) => new Intl.DateTimeFormat(l, { dateStyle: "medium", timeStyle: "medium" })).format(new Date(when));
}

/** A date alone: "Jan 2, 2026", "2026/01/02". */
export function date(when: string | Date): string {
  return cached("date", (l) => new Intl.DateTimeFormat(l, { dateStyle: "medium" })).format(new Date(when));
}

/** A large count, short: "1.2K", "120万". */
export function compactCount(n: number): string {
  return cached("compact", (l) => new Intl.NumberFormat(l, { notation: "compact", maximumFractionDigits: 1 })).format(n);
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}
