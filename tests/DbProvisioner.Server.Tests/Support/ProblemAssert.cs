using System.Net;
using System.Text.Json;

namespace DbProvisioner.Server.Tests.Support;

internal static class ProblemAssert
{
    /// <summary>Asserts an RFC 7807 answer with the given status and returns its JSON body.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(status), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        });
        var json = JsonDocument.Parse(body).RootElement.Clone();
        Assert.That(json.GetProperty("status").GetInt32(), Is.EqualTo((int)status));
        return json;
    }
}
