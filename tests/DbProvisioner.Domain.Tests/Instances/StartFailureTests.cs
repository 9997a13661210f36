using DbProvisioner.Domain.Instances;

namespace DbProvisioner.Domain.Tests.Instances;

/// <summary>Why an instance stopped before it answered, decided from its log: a taken port is the outcome the port check used to give.</summary>
public sealed class StartFailureTests
{
    public static IEnumerable<TestCaseData> Logs()
    {
        yield return Case("mariadb bind error (host network)",
            ["2026-11-30 10:00:00 0 [Note] Starting MariaDB", "2026-11-30 10:00:00 0 [ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use",
             "2026-11-30 10:00:00 0 [ERROR] Do you already have another server running on port: 3600 ?", "2026-11-30 10:00:00 0 [ERROR] Aborting"],
            1, StartFailureKind.PortTaken, "its port is taken");
        yield return Case("mysql 8 bind error", ["[ERROR] [MY-010262] [Server] Can't start server: Bind on TCP/IP port: Address already in use"], 1,
            StartFailureKind.PortTaken, "its port is taken");
        yield return Case("engine refuses a published port", ["driver failed programming external connectivity: Bind for 0.0.0.0:3600 failed: port is already allocated"], null,
            StartFailureKind.PortTaken, "its port is taken");
        yield return Case("another error names the last ERROR line", ["[Note] InnoDB: starting", "[ERROR] InnoDB: Cannot open datafile", "[Note] shutting down"], 1,
            StartFailureKind.Other, "mysqld exited with code 1: [ERROR] InnoDB: Cannot open datafile");
        yield return Case("no error line names the last line", ["[Note] one", "  ", "[Note] killed"], 137,
            StartFailureKind.Other, "mysqld exited with code 137: [Note] killed");
        yield return Case("no log at all", [], 1, StartFailureKind.Other, "mysqld exited with code 1: no log");
        yield return Case("no exit code", ["[ERROR] something"], null, StartFailureKind.Other, "[ERROR] something");
        yield return Case("a port number alone is not a taken port", ["[Note] port: 3600  socket: /run/mysqld/mysqld.sock", "[ERROR] Aborting"], 1,
            StartFailureKind.Other, "mysqld exited with code 1: [ERROR] Aborting");
    }

    private static TestCaseData Case(string name, string[] lines, long? exitCode, StartFailureKind kind, string reason) =>
        new TestCaseData(lines, exitCode).Returns(new StartFailure(kind, reason)).SetName(name);

    [TestCaseSource(nameof(Logs))]
    public StartFailure Decides_from_the_log(string[] lines, long? exitCode) => StartFailure.FromLog(lines, exitCode);
}
