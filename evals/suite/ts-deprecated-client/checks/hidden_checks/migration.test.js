"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { DatasetClient } = require("../dist/warehouse/client.js");
const { activeAccounts, minutesByPlan } = require("../dist/retention.js");

const TABLES = {
  activity: [
    { account_id: "z1", day: "2026-12-05", minutes: 12, device: "tv" },
    { account_id: "z2", day: "2026-12-06", minutes: 3, device: "web" },
    { account_id: "z3", day: "2026-11-30", minutes: 8, device: "web" },
  ],
  accounts: [
    { account_id: "z1", plan: "family", country: "NO" },
    { account_id: "z2", plan: "family", country: "NO" },
  ],
};

function recordingClient() {
  const asked = [];
  const client = new DatasetClient({ rows: (dataset) => TABLES[dataset] });
  const read = client.read.bind(client);
  client.read = (dataset, options) => {
    asked.push([dataset, [...options.columns].sort()]);
    return read(dataset, options);
  };
  return { client, asked };
}

test("activeAccounts reads through read()", async () => {
  const { client, asked } = recordingClient();
  assert.deepStrictEqual(await activeAccounts(client, "2026-12-01"), ["z1", "z2"]);
  assert.deepStrictEqual(asked, [["activity", ["account_id", "day"]]]);
});

test("minutesByPlan reads only the columns it uses", async () => {
  const { client, asked } = recordingClient();
  assert.deepStrictEqual(await minutesByPlan(client), { family: 15, unknown: 8 });
  assert.deepStrictEqual(
    asked.sort(),
    [["accounts", ["account_id", "plan"]], ["activity", ["account_id", "minutes"]]],
  );
});
