"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { accountAgeDays, cohortSizes } = require("../dist/cohorts.js");
const { parseSignupDate } = require("../dist/dates.js");

const ROWS = [
  { account_id: "a", signup_date: "2026-10-31" },
  { account_id: "b", signup_date: "2026-11-01" },
  { account_id: "c", signup_date: "2026-11-23" },
];

test("cohort sizes by month", () => {
  assert.deepStrictEqual(cohortSizes(ROWS), { "2026-10": 1, "2026-11": 2 });
});

test("account age in days", () => {
  assert.strictEqual(accountAgeDays(ROWS[0], "2026-11-23"), 23);
});

test("garbage is rejected with the value named", () => {
  assert.throws(() => parseSignupDate("yesterday"), /yesterday/);
});
