"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { DatasetClient } = require("../dist/warehouse/client.js");
const { activeAccounts, minutesByPlan } = require("../dist/retention.js");

const TABLES = {
  activity: [
    { account_id: "a1", day: "2026-11-01", minutes: 30 },
    { account_id: "a2", day: "2026-10-12", minutes: 5 },
    { account_id: "a1", day: "2026-11-02", minutes: 10 },
  ],
  accounts: [
    { account_id: "a1", plan: "pro", country: "SE" },
    { account_id: "a2", plan: "free", country: "FI" },
  ],
};
const client = new DatasetClient({ rows: (dataset) => TABLES[dataset] });

test("active accounts since a day", async () => {
  assert.deepStrictEqual(await activeAccounts(client, "2026-11-01"), ["a1"]);
});

test("minutes by plan", async () => {
  assert.deepStrictEqual(await minutesByPlan(client), { pro: 40, free: 5 });
});
