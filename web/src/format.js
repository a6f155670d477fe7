// Dates and amounts as staff read them, in the club's time zone.

function parts(date, timeZone, options) {
  return new Intl.DateTimeFormat("en-GB", { timeZone, ...options }).format(date);
}

/** A list date: "18:05" today, else "3 Dec" (or "3 Dec 2025" in another year); never digits alone. */
export function listDate(iso, timeZone) {
  if (!iso) return "";
  const date = new Date(iso);
  const now = new Date();
  const day = (d) => parts(d, timeZone, { year: "numeric", month: "2-digit", day: "2-digit" });
  if (day(date) === day(now)) return parts(date, timeZone, { hour: "2-digit", minute: "2-digit" });
  const sameYear = parts(date, timeZone, { year: "numeric" }) === parts(now, timeZone, { year: "numeric" });
  return parts(date, timeZone, { day: "numeric", month: "short", ...(sameYear ? {} : { year: "numeric" }) });
}

export function dateTime(iso, timeZone) {
  if (!iso) return "";
  return parts(new Date(iso), timeZone, { day: "numeric", month: "short", year: "numeric", hour: "2-digit",
    minute: "2-digit" });
}

export function time(iso, timeZone) {
  return parts(new Date(iso), timeZone, { hour: "2-digit", minute: "2-digit" });
}

/** A calendar date (YYYY-MM-DD, no time zone) as "12 Apr 1990". */
export function calendarDate(value) {
  if (!value) return "";
  const [y, m, d] = value.split("-").map(Number);
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

export function money({ amount, currency }) {
  return new Intl.NumberFormat("en-GB", { style: "currency", currency }).format(Number(amount));
}

export function deliverySummary(s) {
  if (!s) return "";
  const names = ["delivered", "sent", "queued", "failed", "skipped"];
  const counts = names.filter((name) => s[name] > 0).map((name) => `${s[name]} ${name}`);
  return `${s.total} recipient${s.total === 1 ? "" : "s"}${counts.length ? ": " + counts.join(", ") : ""}`;
}

/** Lower case without accents, for the client-side check that a live update still matches a search. */
export function fold(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/** Today's date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}
