-- Foundation: the sketch extension, tenants, and where stream workers are.

-- Unique reach is kept as mergeable HyperLogLog sketches. hll is not a trusted
-- extension: a superuser creates it once (deploy/local/stack does); here it
-- is only asserted.
CREATE EXTENSION IF NOT EXISTS hll;

CREATE TABLE tenants (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The next Kafka offset each (consumer group, topic, partition) will apply.
-- Workers update it in the same transaction as the aggregates it covers, and
-- only from the offset they expect, which fences zombies and replays.
CREATE TABLE consumer_offsets (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL CHECK (partition >= 0),
    next_offset    bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);
