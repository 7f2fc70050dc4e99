/** One row of the users dataset. */
export interface UserRow {
  user_id: number;
  email: string;
  plan: "free" | "pro";
}
