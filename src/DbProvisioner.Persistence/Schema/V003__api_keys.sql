-- API keys: only the SHA-256 of a key is stored, never the key itself.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    role        VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_sha256  BINARY(32)   NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    label       VARCHAR(200) NOT NULL,
    CONSTRAINT pk_api_keys PRIMARY KEY (key_id),
    CONSTRAINT ck_api_keys_role CHECK (role IN ('viewer', 'requester', 'approver', 'admin'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
