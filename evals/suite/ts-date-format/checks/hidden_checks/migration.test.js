"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { accountAgeDays, cohortSizes } = require("../dist/cohorts.js");
const { parseSignupDate } = require("../dist/dates.js");

const ROWS = [
  { account_id: "p", signup_date: "2024-02-29" },
  { account_id: "q", signup_date: "2024-03-01" },
  { account_id: "r", signup_date: "2024-12-31" },
];

test("ISO dates parse", () => {
  assert.deepStrictEqual(parseSignupDate("2024-02-29"), { year: 2024, month: 2, day: 29 });
});

test("cohorts from ISO dates", () => {
  assert.deepStrictEqual(cohortSizes(ROWS), { "2024-02": 1, "2024-03": 1, "2024-12": 1 });
});

test("account age across a leap day", () => {
  assert.strictEqual(accountAgeDays(ROWS[0], "2024-03-01"), 1);
  assert.strictEqual(accountAgeDays(ROWS[2], "2025-01-01"), 1);
});

test("the old format is rejected with the value named", () => {
  assert.throws(() => parseSignupDate("11/23/2026"), /11\/23\/2026/);
});
