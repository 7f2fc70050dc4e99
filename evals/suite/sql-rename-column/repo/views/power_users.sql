-- Accounts with at least three events on three different days.
CREATE VIEW power_users AS
SELECT user_id AS listener, COUNT(*) AS events, COUNT(DISTINCT day) AS days
FROM events
GROUP BY user_id
HAVING COUNT(DISTINCT day) >= 3;
