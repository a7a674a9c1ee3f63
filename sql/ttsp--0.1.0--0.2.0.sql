-- ttsp 0.1.0 -> 0.2.0.  Every change to the SQL API since 0.1.0, so that
-- ALTER EXTENSION ttsp UPDATE gives what CREATE EXTENSION ttsp gives
-- (test/upgrade checks both catalogues and the models' predictions).
\echo Use "ALTER EXTENSION ttsp UPDATE TO '0.2.0'" to load this file. \quit

-- It reads files under ttsp.audio_dir, which can change between calls.
ALTER FUNCTION ttsp_predict(bigint, integer) VOLATILE;
