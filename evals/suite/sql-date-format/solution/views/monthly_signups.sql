-- Signups per month ('YYYY-MM').
CREATE VIEW monthly_signups AS
SELECT strftime('%Y-%m', signup_day) AS month, COUNT(*) AS signups
FROM signups
GROUP BY month;
