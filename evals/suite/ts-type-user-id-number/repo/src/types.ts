/** One row of the users dataset. */
export interface UserRow {
  user_id: string;
  email: string;
  plan: "free" | "pro";
}
