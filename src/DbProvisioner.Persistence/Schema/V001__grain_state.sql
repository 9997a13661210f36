-- Grain state: one row per (grain type, grain id, state name).
-- `version` is the optimistic-concurrency ETag; it only ever grows, also across a clear:
-- a cleared state is kept as a tombstone (payload NULL) so that an old ETag can never match again.
-- Key columns are binary-collated: grain keys are case-sensitive.
CREATE TABLE IF NOT EXISTS grain_state (
    grain_type  VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    grain_id    VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    state_name  VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    payload     LONGBLOB NULL,
    version     BIGINT NOT NULL,
    updated_at  DATETIME(6) NOT NULL,
    CONSTRAINT pk_grain_state PRIMARY KEY (grain_type, grain_id, state_name),
    CONSTRAINT ck_grain_state_version CHECK (version > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
