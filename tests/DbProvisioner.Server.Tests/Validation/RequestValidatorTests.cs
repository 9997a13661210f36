using DbProvisioner.Server.Errors;
using DbProvisioner.Server.Validation;

namespace DbProvisioner.Server.Tests.Validation;

[TestFixture]
[Category("Fast")]
public sealed class RequestValidatorTests
{
    private sealed record Template(int Cpus);

    private sealed record Request(int Cpus, long MemoryMiB, Template Template);

    [TestCase("Cpus", "cpus")]
    [TestCase("MemoryMiB", "memoryMiB")]
    [TestCase("request.SwapMiB", "swapMiB")]
    [TestCase("request.Template.Cpus", "template.cpus")]
    [TestCase("Template.DiskGiB", "template.diskGiB")]
    public void Field_names_are_the_json_names_of_the_expression(string expression, string expected) =>
        Assert.That(RequestValidator.ToJsonFieldName(expression), Is.EqualTo(expected));

    [Test]
    public void Errors_are_keyed_by_json_field_and_collect_every_message()
    {
        var request = new Request(Cpus: -1, MemoryMiB: 10, new Template(0));
        var validator = new RequestValidator()
            .Check(request.Cpus > 0, request.Cpus, "must be at least 1")
            .InRange(request.Cpus, 1, 64)
            .Check(request.MemoryMiB >= 256, request.MemoryMiB, "must be at least 256")
            .Check(request.Template.Cpus > 0, request.Template.Cpus, "must be at least 1")
            .AddError("shards[2].role", "unknown role");

        Assert.Multiple(() =>
        {
            Assert.That(validator.IsValid, Is.False);
            Assert.That(validator.Errors.Keys, Is.EquivalentTo(new[] { "cpus", "memoryMiB", "template.cpus", "shards[2].role" }));
            Assert.That(validator.Errors["cpus"], Is.EqualTo(new[] { "must be at least 1", "must be between 1 and 64" }));
        });
    }

    [Test]
    public void A_valid_request_has_no_errors()
    {
        var request = new Request(Cpus: 2, MemoryMiB: 1024, new Template(1));
        var validator = new RequestValidator().Check(request.Cpus > 0, request.Cpus, "must be at least 1").InRange(request.MemoryMiB, 256, 1 << 20);

        Assert.Multiple(() =>
        {
            Assert.That(validator.IsValid, Is.True);
            Assert.That(validator.Errors, Is.Empty);
        });
    }

    [TestCase("$.cpus", "cpus")]
    [TestCase("$.template.memoryMiB", "template.memoryMiB")]
    [TestCase("$.shards[1].role", "shards[1].role")]
    [TestCase("$['odd key']", "odd key")]
    [TestCase("$", "")]
    [TestCase(null, "")]
    public void Json_paths_become_field_names(string? path, string expected) =>
        Assert.That(ProblemExceptionHandler.JsonPathToField(path), Is.EqualTo(expected));
}
