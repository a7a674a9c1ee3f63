-- Demo, step 1: the trending CSV into a table, then one row per sound.
-- psql variables: datadir (this directory, with a trailing slash).
\ir trending.sql
\set csv :datadir 'tiktok-trending.csv'
\set load_csv '\\copy trending FROM ' :'csv' ' WITH (FORMAT csv, HEADER true)'
:load_csv

-- A sound's popularity is its total play count over the trending videos
-- that use it (a sound used twice reached the sum of both audiences).
-- "popular" is the seed's label: the top 25% of sounds by play count.
CREATE TABLE sounds AS
SELECT music_id,
	min(music_title) AS music_title,
	min(music_author) AS music_author,
	sum(play_count)::bigint AS plays,
	count(*) AS videos
FROM trending
GROUP BY music_id;
ALTER TABLE sounds ADD PRIMARY KEY (music_id);
ALTER TABLE sounds ADD COLUMN popular boolean, ADD COLUMN log_plays double precision;
UPDATE sounds s
SET popular = r.rank_share > 0.75,
	log_plays = log(greatest(s.plays, 1))
FROM (SELECT music_id, cume_dist() OVER (ORDER BY plays) AS rank_share FROM sounds) r
WHERE r.music_id = s.music_id;
