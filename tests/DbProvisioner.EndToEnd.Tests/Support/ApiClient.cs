using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>The API v1 over HTTP with one key (or none), as an outside client sees it.</summary>
public sealed class ApiClient : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;

    public ApiClient(Uri server, string? key)
    {
        _http = new HttpClient { BaseAddress = new Uri(server, "api/v1/"), Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    public Task<HttpResponseMessage> PostAsync<T>(string path, T body) =>
        _http.PostAsJsonAsync(path, body, Json);

    /// <summary>Posts a body exactly as given, e.g. malformed JSON.</summary>
    public Task<HttpResponseMessage> PostRawAsync(string path, string body) =>
        _http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    public Task<HttpResponseMessage> GetAsync(string path) => _http.GetAsync(path);

    /// <summary>Sends a request built by the caller (e.g. with an Idempotency-Key header).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage message) => _http.SendAsync(message);

    public Task<HttpResponseMessage> DeleteAsync(string path) => _http.DeleteAsync(path);

    /// <summary>GET that must answer 200 with a <typeparamref name="T"/>.</summary>
    public async Task<T> GetOkAsync<T>(string path)
    {
        using var response = await _http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"GET {path}: {text}");
        return JsonSerializer.Deserialize<T>(text, Json) ?? throw new InvalidOperationException($"GET {path} answered null");
    }

    /// <summary>GET that throws (rather than fails the test) on anything but 200: for polls that may meet an outage.</summary>
    public async Task<T> GetOrThrowAsync<T>(string path)
    {
        using var response = await _http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"GET {path} answered {(int)response.StatusCode}: {text}", null, response.StatusCode);
        }

        return JsonSerializer.Deserialize<T>(text, Json) ?? throw new InvalidOperationException($"GET {path} answered null");
    }

    public Task<InstanceView> GetInstanceAsync(string id) => GetOkAsync<InstanceView>($"instances/{id}");

    public Task<HostView> GetHostAsync(string id) => GetOkAsync<HostView>($"hosts/{id}");

    public Task<IReadOnlyList<InstanceSummary>> ListInstancesAsync() => GetOkAsync<IReadOnlyList<InstanceSummary>>("instances");

    /// <summary>Polls the instance until <paramref name="done"/> holds and returns that view; fails after <paramref name="timeout"/>, naming <paramref name="what"/>.</summary>
    public Task<InstanceView> WaitForInstanceAsync(string id, Func<InstanceView, bool> done, TimeSpan timeout, string what, TimeSpan? maxPause = null) =>
        Eventually.UntilAsync(() => GetInstanceAsync(id), done, timeout, $"instance {id} {what}", E2eRequests.Describe, maxPause ?? TimeSpan.FromMilliseconds(500));

    public static Task<InstanceView> WaitSettledAsync(ApiClient api, string id, TimeSpan timeout) =>
        api.WaitForInstanceAsync(id, v => v.State is "Ready" or "Failed", timeout, "to be Ready or Failed");

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonSerializer.Deserialize<T>(text, Json) ?? throw new InvalidOperationException($"null body: {text}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>An RFC 7807 answer: its status, title, detail and the fields it names.</summary>
public sealed record Problem(int Status, string? Title, string? Detail, IReadOnlyDictionary<string, string[]> Errors, string ContentType, string Body)
{
    public static async Task<Problem> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        var contentType = response.Content.Headers.ContentType?.MediaType ?? "";
        var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        string? title = null;
        string? detail = null;
        if (body.Length > 0)
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            title = root.TryGetProperty("title", out var t) ? t.GetString() : null;
            detail = root.TryGetProperty("detail", out var d) ? d.GetString() : null;
            if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in e.EnumerateObject())
                {
                    errors[field.Name] = [.. field.Value.EnumerateArray().Select(m => m.GetString() ?? "")];
                }
            }
        }

        return new Problem((int)response.StatusCode, title, detail, errors, contentType, body);
    }

    /// <summary>True when the field is named as an error key, or (for binding errors) in the detail.</summary>
    public bool Names(string field) =>
        Errors.Keys.Any(k => k.Equals(field, StringComparison.OrdinalIgnoreCase) || k.EndsWith("." + field, StringComparison.OrdinalIgnoreCase) || k.Equals("$." + field, StringComparison.OrdinalIgnoreCase))
        || (Detail?.Contains(field, StringComparison.OrdinalIgnoreCase) ?? false);
}
