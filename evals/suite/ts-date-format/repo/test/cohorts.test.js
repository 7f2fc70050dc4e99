"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { accountAgeDays, cohortSizes } = require("../dist/cohorts.js");
const { parseSignupDate } = require("../dist/dates.js");

const ROWS = [
  { account_id: "a", signup_date: "10/31/2026" },
  { account_id: "b", signup_date: "11/01/2026" },
  { account_id: "c", signup_date: "11/23/2026" },
];

test("cohort sizes by month", () => {
  assert.deepStrictEqual(cohortSizes(ROWS), { "2026-10": 1, "2026-11": 2 });
});

test("account age in days", () => {
  assert.strictEqual(accountAgeDays(ROWS[0], "11/23/2026"), 23);
});

test("garbage is rejected with the value named", () => {
  assert.throws(() => parseSignupDate("yesterday"), /yesterday/);
});
