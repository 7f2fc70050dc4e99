-- Signups per weekday (0 = Sunday).
CREATE VIEW weekday_signups AS
SELECT CAST(strftime('%w', substr(signup_day, 7, 4) || '-' || substr(signup_day, 4, 2) || '-' ||
                           substr(signup_day, 1, 2)) AS INTEGER) AS weekday,
       COUNT(*) AS signups
FROM signups
GROUP BY weekday;
