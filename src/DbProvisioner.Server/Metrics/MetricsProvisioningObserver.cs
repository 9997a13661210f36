using DbProvisioner.Grains;

namespace DbProvisioner.Server.Metrics;

/// <summary>The grains' provisioning steps as <c>dbprov_provisioning_step_duration_seconds</c>.</summary>
internal sealed class MetricsProvisioningObserver(DbProvisionerMetrics metrics) : IProvisioningObserver
{
    public void StepCompleted(string step, TimeSpan duration, bool succeeded) => metrics.RecordStepDuration(step, duration, succeeded);
}
