-- ttsp 0.2.0 -> 0.3.0.  Every change to the SQL API since 0.2.0, so that
-- ALTER EXTENSION ttsp UPDATE gives what CREATE EXTENSION ttsp gives
-- (test/upgrade checks both catalogues and the models' predictions).
\echo Use "ALTER EXTENSION ttsp UPDATE TO '0.3.0'" to load this file. \quit
