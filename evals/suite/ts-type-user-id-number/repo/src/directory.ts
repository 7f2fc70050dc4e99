import { UserRow } from "./types";

/** The rows by user id. A later row with the same id wins. */
export function indexById(rows: UserRow[]): Map<string, UserRow> {
  const index = new Map<string, UserRow>();
  for (const row of rows) index.set(row.user_id, row);
  return index;
}

/** The id in a "/users/<id>" path, or null when the path is not one. */
export function idFromPath(path: string): string | null {
  const match = /^\/users\/(\d+)$/.exec(path);
  return match ? match[1] : null;
}

/** The user a "/users/<id>" path names, if any. */
export function lookup(index: Map<string, UserRow>, path: string): UserRow | undefined {
  const id = idFromPath(path);
  return id === null ? undefined : index.get(id);
}

export function profilePath(row: UserRow): string {
  return `/users/${row.user_id}`;
}
