import { daysBetween, parseSignupDate } from "./dates";

export interface SignupRow {
  account_id: string;
  signup_date: string;
}

/** "YYYY-MM" of a signup. */
export function cohortKey(row: SignupRow): string {
  const day = parseSignupDate(row.signup_date);
  return `${day.year}-${String(day.month).padStart(2, "0")}`;
}

/** { cohort: number of signups }. */
export function cohortSizes(rows: SignupRow[]): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const row of rows) {
    const key = cohortKey(row);
    sizes[key] = (sizes[key] ?? 0) + 1;
  }
  return sizes;
}

/** Days between a signup and `today` (a signup_date-formatted string). */
export function accountAgeDays(row: SignupRow, today: string): number {
  return daysBetween(parseSignupDate(row.signup_date), parseSignupDate(today));
}
