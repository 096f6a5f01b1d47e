-- Kill switches, as the Postgres migration 20261203000005 defines them, in
-- SQLite's terms (instants integer microseconds since the Unix epoch, the
-- switch as JSON text).
--
-- One row per switch in force, keyed by its slot; every change appended
-- to the audit trail in the same transaction.

CREATE TABLE kill_switches (
    key    TEXT    PRIMARY KEY,
    switch TEXT    NOT NULL,
    actor  TEXT    NOT NULL,
    reason TEXT    NOT NULL,
    set_at INTEGER NOT NULL
) STRICT;

CREATE TABLE kill_switch_audit (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    key    TEXT    NOT NULL,
    switch TEXT    NOT NULL,
    action TEXT    NOT NULL CHECK (action IN ('set', 'cleared')),
    actor  TEXT    NOT NULL,
    reason TEXT    NOT NULL,
    at     INTEGER NOT NULL
) STRICT;
