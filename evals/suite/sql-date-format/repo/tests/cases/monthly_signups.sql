SELECT month, signups FROM monthly_signups ORDER BY month;
