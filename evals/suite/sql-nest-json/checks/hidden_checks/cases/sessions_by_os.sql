SELECT os, sessions, minutes FROM sessions_by_os ORDER BY os;
