-- Accounts with at least three events on three different days.
CREATE VIEW power_users AS
SELECT account_id AS listener, COUNT(*) AS events, COUNT(DISTINCT day) AS days
FROM events
GROUP BY account_id
HAVING COUNT(DISTINCT day) >= 3;
