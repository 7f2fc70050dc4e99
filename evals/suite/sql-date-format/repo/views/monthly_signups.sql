-- Signups per month ('YYYY-MM').
CREATE VIEW monthly_signups AS
SELECT substr(signup_day, 7, 4) || '-' || substr(signup_day, 4, 2) AS month, COUNT(*) AS signups
FROM signups
GROUP BY month;
