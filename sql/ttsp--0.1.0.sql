-- ttsp: TikTok Sound Popularity, the seed pipeline inside PostgreSQL.
\echo Use "CREATE EXTENSION ttsp" to load this file. \quit

-- Decoded audio: the seed's (waveform, sample_rate) = mp3_to_tensor(...).
CREATE TYPE ttsp_audio AS (
	waveform real[],
	sample_rate integer
);
COMMENT ON TYPE ttsp_audio IS 'Decoded audio: waveform real[channels][samples] in [-1, 1] and its sample rate';

CREATE FUNCTION ttsp_load_mp3(
	audio bytea,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL)
RETURNS ttsp_audio
AS 'MODULE_PATHNAME', 'ttsp_load_mp3'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_load_mp3(bytea, integer, boolean, double precision, double precision) IS
	'Decode MP3 (or any FFmpeg audio format) from bytea; NULL sample_rate keeps the file''s rate';

CREATE FUNCTION ttsp_load_mp3(
	music_id bigint,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL)
RETURNS ttsp_audio
AS 'MODULE_PATHNAME', 'ttsp_load_mp3_id'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_load_mp3(bigint, integer, boolean, double precision, double precision) IS
	'Decode <ttsp.audio_dir>/<music_id>.mp3; needs pg_read_server_files';
-- Reading server files is for pg_read_server_files, as with pg_read_binary_file.
REVOKE ALL ON FUNCTION ttsp_load_mp3(bigint, integer, boolean, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ttsp_load_mp3(bigint, integer, boolean, double precision, double precision) TO pg_read_server_files;
