SELECT day, active_accounts FROM daily_active ORDER BY day;
