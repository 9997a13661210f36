using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

public sealed class CredentialsAndSpecTests
{
    [Test]
    public void Generated_passwords_are_long_alphanumeric_and_different()
    {
        var passwords = Enumerable.Range(0, 200).Select(_ => PasswordGenerator.Generate()).ToList();

        Assert.That(passwords, Is.Unique);
        Assert.That(passwords, Has.All.Length.EqualTo(32));
        Assert.That(passwords.All(p => p.All(char.IsAsciiLetterOrDigit)), Is.True);
    }

    [Test]
    public void Credentials_never_print_their_passwords()
    {
        var credentials = InstanceCredentials.Generate(database: "app", user: "app");

        var text = credentials.ToString();

        Assert.That(text, Does.Not.Contain(credentials.RootPassword));
        Assert.That(text, Does.Not.Contain(credentials.UserPassword!));
        Assert.That(text, Does.Contain("app"));
        Assert.That($"{new { credentials }}", Does.Not.Contain(credentials.RootPassword), "nor when nested in another object's text");
    }

    [TestCase("UPPER")]
    [TestCase("-leading-dash")]
    [TestCase("has space")]
    [TestCase("")]
    public void An_instance_id_that_cannot_name_a_container_is_refused(string id)
    {
        Assert.Throws<ArgumentException>((Spec() with { InstanceId = id }).Validate);
    }

    [Test]
    public void Ownership_labels_cannot_be_overridden_by_the_caller()
    {
        var spec = Spec() with { Labels = new Dictionary<string, string> { [OwnershipLabels.Host] = "elsewhere" } };

        Assert.Throws<ArgumentException>(spec.Validate);
    }

    [Test]
    public void A_valid_spec_passes()
    {
        Assert.DoesNotThrow(Spec().Validate);
    }

    private static InstanceContainerSpec Spec() =>
        new("db-1", "/dev/disk/by-id/db-1-data", CpuSet.Of(1), [0], 1024, 512, 10, 3401, "[mysqld]\n", InstanceCredentials.Generate());
}
