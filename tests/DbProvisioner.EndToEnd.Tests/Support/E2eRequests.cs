using System.Globalization;
using System.Net;
using System.Text.Json;
using DbProvisioner.Api;
using MySqlConnector;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>Test-data builders and small checks shared by the fixtures.</summary>
public static class E2eRequests
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    public static CreateInstanceRequest Instance(string? cluster = null, string? shard = null, int? cpus = 1, long? memoryMiB = 1024, long? swapMiB = 256, string? pool = E2eLayout.Pool) =>
        new(cluster, shard, null, cpus, memoryMiB, swapMiB, 1, null, NumaPolicy.Required, pool);

    public static InstanceTemplateSpec Template() => new(1, 1024, 256, 1, null, NumaPolicy.Required);

    /// <summary>POST /instances that must answer 202; returns the new id.</summary>
    public static async Task<string> CreateInstanceAsync(ApiClient api, CreateInstanceRequest request)
    {
        using var response = await api.PostAsync("instances", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("id").GetString() ?? throw new InvalidOperationException("202 without an id: " + body);
    }

    /// <summary>"0-2,5" → {0,1,2,5}.</summary>
    public static SortedSet<int> ParseCpuList(string? list)
    {
        var set = new SortedSet<int>();
        foreach (var part in (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-');
            var first = int.Parse(bounds[0], CultureInfo.InvariantCulture);
            var last = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : first;
            for (var cpu = first; cpu <= last; cpu++)
            {
                set.Add(cpu);
            }
        }

        return set;
    }

    /// <summary>Connects with the instance's credentials and runs SELECT 1.</summary>
    public static async Task<long> SelectOneAsync(CredentialsView credentials)
    {
        var builder = new MySqlConnectionStringBuilder
        {
            Server = credentials.Host,
            Port = (uint)credentials.Port,
            UserID = credentials.User,
            Password = credentials.Password,
            ConnectionTimeout = 10,
            SslMode = MySqlSslMode.Preferred,
        };
        await using var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public static string Describe(InstanceView view) =>
        $"{view.Id} {view.State} reason={view.Reason ?? "-"} host={view.Host ?? "-"} cpus={view.CpuSet ?? "-"} numa=[{string.Join(',', view.NumaNodes)}] "
        + $"disk={view.Device ?? "-"} endpoint={view.Endpoint?.Host}:{view.Endpoint?.Port} steps=[{string.Join("; ", view.Steps.Select(s => $"{s.Step} {s.DurationMs:F0}ms {s.Outcome}"))}]";
}
