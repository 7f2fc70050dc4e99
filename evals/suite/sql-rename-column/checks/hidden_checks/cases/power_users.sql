SELECT listener, events, days FROM power_users ORDER BY listener;
