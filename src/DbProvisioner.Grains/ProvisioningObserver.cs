namespace DbProvisioner.Grains;

/// <summary>Told about each provisioning step's outcome, e.g. to feed the step-duration histogram.</summary>
public interface IProvisioningObserver
{
    void StepCompleted(string step, TimeSpan duration, bool succeeded);
}

internal sealed class NoProvisioningObserver : IProvisioningObserver
{
    public void StepCompleted(string step, TimeSpan duration, bool succeeded)
    {
    }
}
