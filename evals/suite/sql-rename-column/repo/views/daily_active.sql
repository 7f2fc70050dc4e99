-- Accounts active per day.
CREATE VIEW daily_active AS
SELECT day, COUNT(DISTINCT user_id) AS active_accounts
FROM events
GROUP BY day;
