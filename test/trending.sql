-- The README's trending table takes all 1,000 rows of the CSV with \copy.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(5);
\set ddl :datadir 'trending.sql'
\i :ddl
-- \copy does not expand variables, so build the command in one.
\set csv :datadir 'tiktok-trending.csv'
\set load_csv '\\copy trending FROM ' :'csv' ' WITH (FORMAT csv, HEADER true)'
:load_csv

SELECT is(count(*), 1000::bigint, 'all 1,000 CSV rows load') FROM trending;
SELECT is(count(DISTINCT music_id), 907::bigint, '907 distinct Music IDs') FROM trending;
SELECT is(music_author, 'Pop Smoke', 'first row: text columns in order')
FROM trending WHERE tiktok_id = 6907228749016714497;
SELECT is((video_duration, play_count, user_verified), (15, 44800::bigint, false),
	'first row: numeric and boolean columns') FROM trending WHERE tiktok_id = 6907228749016714497;
SELECT ok(min(play_count) >= 0 AND min(video_duration) > 0, 'play counts and durations are sane') FROM trending;

SELECT * FROM finish();
ROLLBACK;
