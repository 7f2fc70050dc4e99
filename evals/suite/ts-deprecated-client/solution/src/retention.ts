import { DatasetClient } from "./warehouse/client";

/** Accounts with activity on or after `since` ("YYYY-MM-DD"), sorted. */
export async function activeAccounts(client: DatasetClient, since: string): Promise<string[]> {
  const active = new Set<string>();
  for await (const row of client.read("activity", { columns: ["account_id", "day"] })) {
    if (String(row.day) >= since) active.add(String(row.account_id));
  }
  return [...active].sort();
}

/** Minutes of activity per plan, joining activity with accounts. */
export async function minutesByPlan(client: DatasetClient): Promise<Record<string, number>> {
  const plans = new Map<string, string>();
  for await (const row of client.read("accounts", { columns: ["account_id", "plan"] })) {
    plans.set(String(row.account_id), String(row.plan));
  }
  const minutes: Record<string, number> = {};
  for await (const row of client.read("activity", { columns: ["account_id", "minutes"] })) {
    const plan = plans.get(String(row.account_id)) ?? "unknown";
    minutes[plan] = (minutes[plan] ?? 0) + Number(row.minutes);
  }
  return minutes;
}
