-- Source: warehouse://playlist_events/v1
SELECT user_id, COUNT(*) AS plays
FROM playlist_events
WHERE action = 'play'
GROUP BY user_id
ORDER BY plays DESC, user_id;
