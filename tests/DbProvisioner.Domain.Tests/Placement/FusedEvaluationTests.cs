using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;
using static DbProvisioner.Domain.Tests.TestData.Fleets;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Placement;

/// <summary>The scheduler's one-pass evaluation must answer exactly as the filters and scores do apart.</summary>
public class FusedEvaluationTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Evaluate_matches_check_and_total_on_random_states(int seed)
    {
        var rng = new Random(seed);
        var summaries = RandomlyFilled(rng);
        summaries[3] = summaries[3] with { Cordoned = true };
        summaries[4] = summaries[4] with { FreePorts = 0 };
        var weights = new ScoreWeights();
        var compared = 0;
        var skipped = 0;
        for (var q = 0; q < 300; q++)
        {
            var mode = (SpreadMode)rng.Next(2);
            var rule = new SpreadRule((SpreadDomain)rng.Next(3), rng.Next(1, 3), mode);
            var members = Enumerable.Range(0, rng.Next(3)).Select(_ => summaries[rng.Next(summaries.Length)]).ToArray();
            var request = Request(Instance($"q{q}", rng.Next(1, 40), (NumaPolicy)rng.Next(4), rng.Next(1, 80) * 1024L, rng.Next(1, 7) * 100, rng.Next(4) * 1024L),
                rng.Next(4) == 0 ? null : Shard(rule, members), rng.Next(10) == 0 ? "high-io" : "general");
            foreach (var host in summaries)
            {
                var code = Fit.Evaluate(host, request, weights, out var score);
                Assert.That(code, Is.EqualTo(Filters.Check(host, request)), $"seed {seed} query {q} host {host.HostId}");
                if (Fit.SurelyUnfit(host, request.Instance))
                {
                    Assert.That(code, Is.Not.EqualTo(FilterCode.Fits), $"seed {seed} query {q} host {host.HostId}: the scan's quick reject skipped a host that fits");
                    skipped++;
                }
                if (code == FilterCode.Fits) Assert.That(score, Is.EqualTo(Scores.Total(host, request, weights)), $"seed {seed} query {q} host {host.HostId}");
                compared++;
            }
        }
        Assert.That(compared, Is.EqualTo(300 * summaries.Length));
        Assert.That(skipped, Is.GreaterThan(0), "some hosts were judged unfit from the summary's own fields");
    }
}
