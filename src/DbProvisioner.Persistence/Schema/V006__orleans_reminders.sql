-- Reminders for Orleans' ADO.NET reminder provider (Microsoft.Orleans.Reminders.AdoNet), which ships no SQL.
-- Contract: statements in OrleansQuery by key; parameters ServiceId, GrainId, ReminderName, StartTime, Period,
-- GrainHash, BeginHash, EndHash, Version; result columns GrainId, ReminderName, StartTime, Period, Version (the ETag).
-- grain_hash is the provider's signed 32-bit view of the grain's ring hash.
CREATE TABLE IF NOT EXISTS silo_reminders (
    service_id     VARCHAR(150) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    grain_id       VARCHAR(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    reminder_name  VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    start_time     DATETIME(3) NOT NULL,
    period         BIGINT NOT NULL,
    grain_hash     INT NOT NULL,
    version        INT NOT NULL,
    CONSTRAINT pk_silo_reminders PRIMARY KEY (service_id, grain_id, reminder_name),
    INDEX ix_silo_reminders_hash (service_id, grain_hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

DELETE FROM OrleansQuery WHERE QueryKey IN (
    'UpsertReminderRowKey', 'ReadReminderRowsKey', 'ReadReminderRowKey', 'ReadRangeRows1Key', 'ReadRangeRows2Key',
    'DeleteReminderRowKey', 'DeleteReminderRowsKey');

-- The upsert returns the row's new version through LAST_INSERT_ID(expr), so the answer is the write's own, not a later one's.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('UpsertReminderRowKey',
 'INSERT INTO silo_reminders (service_id, grain_id, reminder_name, start_time, period, grain_hash, version)
  VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, LAST_INSERT_ID(1))
  ON DUPLICATE KEY UPDATE start_time = VALUES(start_time), period = VALUES(period), grain_hash = VALUES(grain_hash),
                          version = LAST_INSERT_ID(version + 1);
  SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS Version;'),
('ReadReminderRowsKey',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period, version AS Version
    FROM silo_reminders WHERE service_id = @ServiceId AND grain_id = @GrainId;'),
('ReadReminderRowKey',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period, version AS Version
    FROM silo_reminders WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;'),
('ReadRangeRows1Key',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period, version AS Version
    FROM silo_reminders WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;'),
('ReadRangeRows2Key',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period, version AS Version
    FROM silo_reminders WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);'),
('DeleteReminderRowKey',
 'DELETE FROM silo_reminders
   WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version;
  SELECT ROW_COUNT() > 0;'),
('DeleteReminderRowsKey',
 'DELETE FROM silo_reminders WHERE service_id = @ServiceId;');
