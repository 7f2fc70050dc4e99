SELECT weekday, signups FROM weekday_signups ORDER BY weekday;
