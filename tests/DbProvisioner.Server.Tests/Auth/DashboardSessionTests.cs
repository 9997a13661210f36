using System.Security.Cryptography;
using DbProvisioner.Grains;
using DbProvisioner.Server.Auth;
using Microsoft.Extensions.Time.Testing;

namespace DbProvisioner.Server.Tests.Auth;

/// <summary>The dashboard's session ticket: an admin's, sealed, and good for its lifetime only.</summary>
public sealed class DashboardSessionTests
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly AesGcmCredentialProtector protector = new(RandomNumberGenerator.GetBytes(32));

    private DashboardSession Sessions => new(protector, clock);

    [Test]
    public void An_admins_ticket_names_the_key_until_it_expires()
    {
        var ticket = Sessions.Issue(new ApiPrincipal("key-1", ApiRole.Admin));

        clock.Advance(DashboardSession.Lifetime - TimeSpan.FromSeconds(1));
        Assert.That(Sessions.Read(ticket), Is.EqualTo(new ApiPrincipal("key-1", ApiRole.Admin)));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(Sessions.Read(ticket), Is.Null, "expired");
    }

    [TestCase("")]
    [TestCase("v1:")]
    [TestCase("v1:AAAA")]
    [TestCase("not a ticket")]
    public void A_forged_ticket_is_nobody(string ticket) => Assert.That(Sessions.Read(ticket), Is.Null);

    [Test]
    public void A_ticket_sealed_with_another_appliances_key_is_nobody()
    {
        var other = new DashboardSession(new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)), clock);
        Assert.That(Sessions.Read(other.Issue(new ApiPrincipal("key-1", ApiRole.Admin))), Is.Null);
    }

    [Test]
    public void A_sealed_secret_of_another_purpose_or_role_is_nobody()
    {
        var expires = clock.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds();
        Assert.Multiple(() =>
        {
            Assert.That(Sessions.Read(protector.Protect("an instance password")), Is.Null);
            Assert.That(Sessions.Read(protector.Protect($"dashboard-session/v1\nkey-2\nviewer\n{expires}")), Is.Null, "only admins");
            Assert.That(Sessions.Read(protector.Protect($"dashboard-session/v1\nkey-2\nadmin\n{expires}")), Is.EqualTo(new ApiPrincipal("key-2", ApiRole.Admin)));
        });
    }
}
