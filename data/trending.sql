-- The trending-videos CSV (data/tiktok-trending.csv), one column per CSV
-- column in header order.  Load it from psql with:
--   \copy trending FROM 'data/tiktok-trending.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE trending (
	tiktok_id      bigint PRIMARY KEY,
	user_verified  boolean NOT NULL,
	music_id       bigint NOT NULL,
	music_title    text,
	music_author   text,
	music_url      text,
	video_duration integer NOT NULL,
	play_count     bigint NOT NULL
);
