using DbProvisioner.Server.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DbProvisioner.Server.Tests.Hosting;

/// <summary>A grain call that met a stopping or dead silo is a 503 to retry elsewhere (HAProxy resends idempotent ones), not a 500.</summary>
[TestFixture]
[Category("Fast")]
public sealed class SiloUnavailableTests
{
    [Test]
    public void A_silo_that_is_shutting_down_anywhere_in_the_chain_is_unavailable()
    {
        var context = Context(stopping: false);
        var wrapped = new InvalidOperationException("grain call failed", new SiloUnavailableException("Silo S127.0.0.1:1:1 is shutting down."));
        Assert.Multiple(() =>
        {
            Assert.That(ProblemExceptionHandler.IsSiloUnavailable(context, wrapped), Is.True);
            Assert.That(ProblemExceptionHandler.IsSiloUnavailable(context, new InvalidOperationException("a bug")), Is.False);
        });
    }

    [Test]
    public void A_cancellation_is_unavailable_only_while_this_process_stops()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ProblemExceptionHandler.IsSiloUnavailable(Context(stopping: true), new OperationCanceledException()), Is.True);
            Assert.That(ProblemExceptionHandler.IsSiloUnavailable(Context(stopping: false), new OperationCanceledException()), Is.False);
        });
    }

    private static DefaultHttpContext Context(bool stopping)
    {
        var services = new ServiceCollection().AddSingleton<IHostApplicationLifetime>(new Lifetime(stopping)).BuildServiceProvider();
        return new DefaultHttpContext { RequestServices = services };
    }

    private sealed class Lifetime(bool stopping) : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => new(stopping);
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }
}
