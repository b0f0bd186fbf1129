CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
DO $$ BEGIN PERFORM 1; END $$;
SELECT E'it\'s', 'a''b', "q;" /* c /* d */ */ -- e
;