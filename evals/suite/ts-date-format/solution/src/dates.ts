/** A calendar day. */
export interface Day {
  year: number;
  month: number; // 1-12
  day: number; // 1-31
}

/** Parses a signups signup_date (ISO 8601, "YYYY-MM-DD"). Throws on anything else. */
export function parseSignupDate(text: string): Day {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) throw new Error(`malformed signup_date: "${text}"`);
  return { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
}

/** Whole days from a to b (negative when b is earlier). */
export function daysBetween(a: Day, b: Day): number {
  const ms = Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day);
  return Math.round(ms / 86400000);
}
