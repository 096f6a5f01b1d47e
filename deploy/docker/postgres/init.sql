-- Runs once, as the superuser, when the data volume is first initialised.
-- adpulse connects as a role that is not a superuser, so row-level security
-- applies to it; hll is not a trusted extension, so it is created here.
CREATE ROLE adpulse LOGIN PASSWORD 'adpulse' NOSUPERUSER;
CREATE DATABASE adpulse OWNER adpulse;
\connect adpulse
CREATE EXTENSION IF NOT EXISTS hll;
