-- Accounts active per day.
CREATE VIEW daily_active AS
SELECT day, COUNT(DISTINCT account_id) AS active_accounts
FROM events
GROUP BY day;
