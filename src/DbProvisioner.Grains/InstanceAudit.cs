using System.Globalization;

namespace DbProvisioner.Grains;

/// <summary>One step's audit row, made into an event once the state version it records is known.</summary>
internal readonly record struct StepNote(string Step, string Outcome, string? Detail, double DurationMs);

/// <summary>
/// How an instance's steps read in the audit trail: provisioning steps by the requester, removal steps by the
/// approver under the scale-down request, each with the state version it records and where the instance lives.
/// Never a secret: the host, CPUs, port and disk only.
/// </summary>
internal static class InstanceAudit
{
    public static AuditEvent EventOf(string instanceId, InstanceGrainState s, StepNote note)
    {
        ArgumentNullException.ThrowIfNull(s);
        var details = new Dictionary<string, string> { ["durationMs"] = note.DurationMs.ToString("0", CultureInfo.InvariantCulture) };
        if (s.Host is { } host) details["host"] = host.HostId;
        if (s.Reservation is { } r)
        {
            details["cpus"] = r.Cpu.Cpus.ToString();
            details["port"] = r.Port.ToString(CultureInfo.InvariantCulture);
            details["disk"] = r.Disk.Id;
        }
        var removing = s.RemovalRequestId is not null;
        return new AuditEvent(removing ? s.RemovalApprovedBy ?? "system" : s.RequestedBy,
            (removing ? "removal." : "provisioning.") + note.Step, "instance", instanceId, note.Outcome, s.RemovalRequestId, s.Version, details, note.Detail);
    }
}
