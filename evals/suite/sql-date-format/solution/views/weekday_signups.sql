-- Signups per weekday (0 = Sunday).
CREATE VIEW weekday_signups AS
SELECT CAST(strftime('%w', signup_day) AS INTEGER) AS weekday, COUNT(*) AS signups
FROM signups
GROUP BY weekday;
