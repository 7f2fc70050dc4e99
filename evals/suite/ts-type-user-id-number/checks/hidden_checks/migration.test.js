"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { idFromPath, indexById, lookup, profilePath } = require("../dist/directory.js");

const ROWS = [
  { user_id: 1001, email: "x@example.com", plan: "pro" },
  { user_id: 5, email: "y@example.com", plan: "free" },
];

test("the index is keyed by numbers", () => {
  const index = indexById(ROWS);
  assert.deepStrictEqual([...index.keys()].sort((a, b) => a - b), [5, 1001]);
});

test("paths find users with numeric ids", () => {
  const index = indexById(ROWS);
  assert.strictEqual(lookup(index, "/users/1001").email, "x@example.com");
  assert.strictEqual(lookup(index, "/users/6"), undefined);
  assert.strictEqual(lookup(index, "/users/abc"), undefined);
});

test("ids parsed from paths are numbers", () => {
  assert.strictEqual(idFromPath("/users/5"), 5);
  assert.strictEqual(idFromPath("/users/"), null);
  assert.strictEqual(profilePath(ROWS[1]), "/users/5");
});
