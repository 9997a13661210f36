-- Append-only audit trail: who did what to which subject, when, and how it ended.
-- Never a secret in any column. The triggers refuse UPDATE and DELETE for every client,
-- so the table stays append-only even for code that is not ours.
CREATE TABLE IF NOT EXISTS audit (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    at            DATETIME(6) NOT NULL,
    actor         VARCHAR(128) NOT NULL,
    action        VARCHAR(64)  NOT NULL,
    subject_type  VARCHAR(64)  NOT NULL,
    subject_id    VARCHAR(256) NOT NULL,
    outcome       VARCHAR(32)  NOT NULL,
    request_id    VARCHAR(128) NULL,
    state_version BIGINT NULL,
    details       LONGTEXT NULL,
    CONSTRAINT pk_audit PRIMARY KEY (id),
    CONSTRAINT ck_audit_details_json CHECK (details IS NULL OR JSON_VALID(details)),
    INDEX ix_audit_at (at),
    INDEX ix_audit_actor (actor, id),
    INDEX ix_audit_subject (subject_type, subject_id, id),
    INDEX ix_audit_action (action, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

DROP TRIGGER IF EXISTS audit_refuse_update;
CREATE TRIGGER audit_refuse_update BEFORE UPDATE ON audit FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit is append-only: UPDATE refused';

DROP TRIGGER IF EXISTS audit_refuse_delete;
CREATE TRIGGER audit_refuse_delete BEFORE DELETE ON audit FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit is append-only: DELETE refused';
