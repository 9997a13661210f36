-- Silo membership for Orleans' ADO.NET clustering provider (Microsoft.Orleans.Clustering.AdoNet), which ships no SQL.
-- The provider's contract: it reads its statements from OrleansQuery by key, binds @-named parameters and reads
-- result columns by name (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort,
-- SuspectTimes, StartTime, IAmAliveTime, Version). The tables behind the statements are this project's.
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    QueryText  TEXT NOT NULL,
    CONSTRAINT pk_orleans_query PRIMARY KEY (QueryKey)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- One row per cluster id: the membership version every change must name and bump (optimistic concurrency).
CREATE TABLE IF NOT EXISTS silo_membership_version (
    cluster_id  VARCHAR(150) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    version     INT NOT NULL DEFAULT 0,
    changed_at  DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
    CONSTRAINT pk_silo_membership_version PRIMARY KEY (cluster_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- One row per silo incarnation (address, port, generation); status 3 = Active, 6 = Dead.
CREATE TABLE IF NOT EXISTS silo_membership (
    cluster_id       VARCHAR(150) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    address          VARCHAR(45) CHARACTER SET ascii NOT NULL,
    port             INT NOT NULL,
    generation       INT NOT NULL,
    silo_name        VARCHAR(150) NOT NULL,
    host_name        VARCHAR(150) NOT NULL,
    status           INT NOT NULL,
    proxy_port       INT NULL,
    suspect_times    TEXT NULL,
    start_time       DATETIME(3) NOT NULL,
    i_am_alive_time  DATETIME(3) NOT NULL,
    CONSTRAINT pk_silo_membership PRIMARY KEY (cluster_id, address, port, generation),
    CONSTRAINT fk_silo_membership_version FOREIGN KEY (cluster_id) REFERENCES silo_membership_version (cluster_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- A new silo joins only if the version it read is still current: the bump and the row commit together or not at all.
DROP PROCEDURE IF EXISTS silo_membership_join;
CREATE PROCEDURE silo_membership_join(
    IN p_cluster_id VARCHAR(150), IN p_address VARCHAR(45), IN p_port INT, IN p_generation INT, IN p_version INT,
    IN p_silo_name VARCHAR(150), IN p_host_name VARCHAR(150), IN p_status INT, IN p_proxy_port INT,
    IN p_start_time DATETIME(3), IN p_i_am_alive_time DATETIME(3))
BEGIN
    DECLARE joined INT DEFAULT 0;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
    START TRANSACTION;
    UPDATE silo_membership_version SET version = version + 1, changed_at = UTC_TIMESTAMP(3)
     WHERE cluster_id = p_cluster_id AND version = p_version;
    IF ROW_COUNT() = 1 THEN
        INSERT INTO silo_membership (cluster_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
        SELECT p_cluster_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port, p_start_time, p_i_am_alive_time
          FROM DUAL
         WHERE NOT EXISTS (SELECT 1 FROM silo_membership
                            WHERE cluster_id = p_cluster_id AND address = p_address AND port = p_port AND generation = p_generation);
        SET joined = ROW_COUNT();
    END IF;
    IF joined = 1 THEN COMMIT; ELSE ROLLBACK; END IF;
    SELECT joined;
END;

DELETE FROM OrleansQuery WHERE QueryKey IN (
    'InsertMembershipVersionKey', 'InsertMembershipKey', 'UpdateMembershipKey', 'UpdateIAmAlivetimeKey', 'MembershipReadRowKey',
    'MembershipReadAllKey', 'GatewaysQueryKey', 'DeleteMembershipTableEntriesKey', 'CleanupDefunctSiloEntriesKey', 'CleanupDefunctSiloEntryKey');

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey',
 'INSERT INTO silo_membership_version (cluster_id, version)
  SELECT @DeploymentId, 0 FROM DUAL
   WHERE NOT EXISTS (SELECT 1 FROM silo_membership_version WHERE cluster_id = @DeploymentId);
  SELECT ROW_COUNT() > 0;'),
('InsertMembershipKey',
 'CALL silo_membership_join(@DeploymentId, @Address, @Port, @Generation, @Version, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime);'),
('UpdateMembershipKey',
 'UPDATE silo_membership_version AS v
    JOIN silo_membership AS m
      ON m.cluster_id = v.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
     SET v.version = v.version + 1, v.changed_at = UTC_TIMESTAMP(3),
         m.status = @Status, m.suspect_times = @SuspectTimes, m.i_am_alive_time = GREATEST(m.i_am_alive_time, @IAmAliveTime)
   WHERE v.cluster_id = @DeploymentId AND v.version = @Version;
  SELECT ROW_COUNT() > 0;'),
('UpdateIAmAlivetimeKey',
 'UPDATE silo_membership SET i_am_alive_time = GREATEST(i_am_alive_time, @IAmAliveTime)
   WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;'),
('MembershipReadRowKey',
 'SELECT v.cluster_id AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
         m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
         m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime, v.version AS Version
    FROM silo_membership_version AS v
    LEFT JOIN silo_membership AS m
      ON m.cluster_id = v.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
   WHERE v.cluster_id = @DeploymentId;'),
('MembershipReadAllKey',
 'SELECT v.cluster_id AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
         m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
         m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime, v.version AS Version
    FROM silo_membership_version AS v
    LEFT JOIN silo_membership AS m ON m.cluster_id = v.cluster_id
   WHERE v.cluster_id = @DeploymentId;'),
('GatewaysQueryKey',
 'SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
    FROM silo_membership
   WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0;'),
('DeleteMembershipTableEntriesKey',
 'DELETE FROM silo_membership WHERE cluster_id = @DeploymentId;
  DELETE FROM silo_membership_version WHERE cluster_id = @DeploymentId;'),
('CleanupDefunctSiloEntriesKey',
 'DELETE FROM silo_membership
   WHERE cluster_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime AND start_time < @IAmAliveTime
     AND COALESCE(suspect_times, '''') = '''';'),
('CleanupDefunctSiloEntryKey',
 'DELETE FROM silo_membership
   WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation AND status = 6
     AND i_am_alive_time = @IAmAliveTime AND start_time = @StartTime
     AND COALESCE(suspect_times, '''') = COALESCE(@SuspectTimes, '''');');
