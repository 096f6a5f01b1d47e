-- A campaign's targeting (countries, devices, segments, dayparting, frequency
-- cap), validated by the API and kept whole: read whole by the API and by
-- frequency capping, never queried by its parts.
ALTER TABLE campaigns ADD COLUMN targeting jsonb NOT NULL DEFAULT '{}';
