-- Kill switches (`crates/domain/src/switch.rs`): what an operator turned
-- off while the platform runs. One row per switch in force, keyed by the
-- switch's slot (`pause_ingest:<tenant>`, `capping`, `pause_sink:live`,
-- `read_only_api`), so setting capping fail-closed replaces fail-open.
-- Every process reads the whole table every `ops.switch_poll_ms`: it
-- holds a handful of rows.
--
-- Every change is appended to `kill_switch_audit` in the same
-- transaction: who (as they said, and through what), what, why, when.
-- Operator-wide, so no tenant column and no row-level security: only the
-- operators' routes and `adpulse admin switch` reach these tables.

CREATE TABLE kill_switches (
    key    text        PRIMARY KEY,
    switch jsonb       NOT NULL,
    actor  text        NOT NULL,
    reason text        NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kill_switch_audit (
    seq    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key    text        NOT NULL,
    switch jsonb       NOT NULL,
    action text        NOT NULL CHECK (action IN ('set', 'cleared')),
    actor  text        NOT NULL,
    reason text        NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
