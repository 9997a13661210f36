using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Api;

namespace DbProvisioner.Cli.Http;

/// <summary>
/// A typed client of the server. API paths are relative to <c>/api/v1/</c> (e.g. <c>"instances"</c>);
/// every non-success answer becomes an <see cref="ApiProblemException"/> carrying the problem details.
/// </summary>
public sealed class DbProvisionerClient(HttpClient http)
{
    public static JsonSerializerOptions Json { get; } = CreateJsonOptions();

    public static DbProvisionerClient Create(Uri serverUrl, string? key, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.BaseAddress = serverUrl;
        http.Timeout = TimeSpan.FromSeconds(60);
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/problem+json"));
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("dbprov", CliVersion.Value));
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return new DbProvisionerClient(http);
    }

    public Uri? ServerUrl => http.BaseAddress;

    public Task<T> GetAsync<T>(string apiPath, CancellationToken cancellationToken) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Get, ApiUri(apiPath)), cancellationToken);

    public Task<TResponse> PostAsync<TRequest, TResponse>(string apiPath, TRequest body, CancellationToken cancellationToken) =>
        SendAsync<TResponse>(
            new HttpRequestMessage(HttpMethod.Post, ApiUri(apiPath)) { Content = JsonContent.Create(body, options: Json) },
            cancellationToken);

    /// <summary>A POST with extra request headers (e.g. <c>Idempotency-Key</c>).</summary>
    public Task<TResponse> PostAsync<TRequest, TResponse>(
        string apiPath, TRequest body, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var request = new HttpRequestMessage(HttpMethod.Post, ApiUri(apiPath)) { Content = JsonContent.Create(body, options: Json) };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return SendAsync<TResponse>(request, cancellationToken);
    }

    public Task<TResponse> PatchAsync<TRequest, TResponse>(string apiPath, TRequest body, CancellationToken cancellationToken) =>
        SendAsync<TResponse>(
            new HttpRequestMessage(HttpMethod.Patch, ApiUri(apiPath)) { Content = JsonContent.Create(body, options: Json) },
            cancellationToken);

    public Task<TResponse> DeleteAsync<TResponse>(string apiPath, CancellationToken cancellationToken) =>
        SendAsync<TResponse>(new HttpRequestMessage(HttpMethod.Delete, ApiUri(apiPath)), cancellationToken);

    /// <summary><c>GET /healthz</c> (no key needed).</summary>
    public Task<HealthResponse> GetHealthAsync(CancellationToken cancellationToken) =>
        SendAsync<HealthResponse>(new HttpRequestMessage(HttpMethod.Get, new Uri("healthz", UriKind.Relative)), cancellationToken);

    private static Uri ApiUri(string apiPath) => new("api/v1/" + apiPath.TrimStart('/'), UriKind.Relative);

    private async Task<T> SendAsync<T>(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        using (var response = await http.SendAsync(request, cancellationToken))
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new ApiProblemException((int)response.StatusCode, await ReadProblemAsync(response, cancellationToken));
            }

            return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
                ?? throw new InvalidOperationException($"The server answered {request.Method} {request.RequestUri} with an empty body.");
        }
    }

    private static async Task<ApiProblem> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (body.Length > 0)
        {
            try
            {
                if (JsonSerializer.Deserialize<ApiProblem>(body, Json) is { } problem)
                {
                    return problem with { Status = problem.Status ?? status };
                }
            }
            catch (JsonException)
            {
                // Not a problem document (e.g. a proxy's HTML page): fall through to the status line.
            }
        }

        return new ApiProblem(null, $"{status} {response.ReasonPhrase}", status, null, null, null);
    }

    // The API's enums name their own converters (DbProvisioner.Api); an enum converter here would take precedence over them.
    private static JsonSerializerOptions CreateJsonOptions() => new(JsonSerializerDefaults.Web);
}
