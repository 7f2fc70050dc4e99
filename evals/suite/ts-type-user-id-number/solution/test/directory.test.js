"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { idFromPath, indexById, lookup, profilePath } = require("../dist/directory.js");

const ROWS = [
  { user_id: 7, email: "a@example.com", plan: "free" },
  { user_id: 42, email: "b@example.com", plan: "pro" },
];

test("lookup finds a user by path", () => {
  const index = indexById(ROWS);
  assert.strictEqual(lookup(index, "/users/42").email, "b@example.com");
  assert.strictEqual(lookup(index, "/users/8"), undefined);
  assert.strictEqual(lookup(index, "/teams/42"), undefined);
});

test("idFromPath and profilePath round-trip", () => {
  assert.strictEqual(idFromPath(profilePath(ROWS[0])), 7);
});
