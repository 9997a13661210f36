using DbProvisioner.Api;
using DbProvisioner.Domain;
using DbProvisioner.Domain.Config;

namespace DbProvisioner.Server.Validation;

/// <summary>The resources of one instance, as a request or a cluster's template gives them, with the API's defaults.</summary>
public sealed record InstanceShape(int Cpus, long MemoryMiB, long SwapMiB, int Swappiness, long DiskGiB, string DiskClass, NumaPolicy Numa);

/// <summary>
/// Checks and defaults shared by <c>POST /instances</c> and the template of <c>POST /clusters</c>. Errors are keyed
/// by JSON field under <c>prefix</c> (<c>cpus</c>, <c>template.cpus</c>). Every size has an upper bound
/// (<see cref="Sizes"/>), so that nothing downstream (placement, the engine's byte counts) can overflow.
/// </summary>
public static class InstanceShapeValidation
{
    public const int MaxCpus = 256;
    public const int DefaultSwappiness = 1;
    public const string DefaultDiskClass = "standard";
    public const NumaPolicy DefaultNuma = NumaPolicy.Preferred;

    /// <returns>The shape with defaults filled in, or null when a field is invalid (each error added to <paramref name="validator"/>).</returns>
    public static InstanceShape? Validate(
        RequestValidator validator,
        string prefix,
        int? cpus,
        long? memoryMiB,
        long? swapMiB,
        int? swappiness,
        long? diskGiB,
        string? diskClass,
        NumaPolicy? numa)
    {
        ArgumentNullException.ThrowIfNull(validator);
        var before = validator.Errors.Count;

        if (cpus is null)
        {
            validator.AddError(prefix + "cpus", "is required");
        }
        else if (cpus is < 1 or > MaxCpus)
        {
            validator.AddError(prefix + "cpus", $"must be between 1 and {MaxCpus}");
        }

        if (memoryMiB is null)
        {
            validator.AddError(prefix + "memoryMiB", "is required");
        }
        else if (memoryMiB < MyCnf.MinimumMemoryMiB)
        {
            validator.AddError(prefix + "memoryMiB", $"must be at least {MyCnf.MinimumMemoryMiB} (MiB)");
        }
        else if (memoryMiB > Sizes.MaxMemoryMiB)
        {
            validator.AddError(prefix + "memoryMiB", $"must be at most {Sizes.MaxMemoryMiB} (MiB, 16 TiB)");
        }

        if (swapMiB is < 0)
        {
            validator.AddError(prefix + "swapMiB", "must not be negative");
        }
        else if (swapMiB > Sizes.MaxSwapMiB)
        {
            validator.AddError(prefix + "swapMiB", $"must be at most {Sizes.MaxSwapMiB} (MiB, 16 TiB)");
        }

        if (swappiness is < 0 or > 100)
        {
            validator.AddError(prefix + "swappiness", "must be between 0 and 100");
        }

        if (diskGiB is null)
        {
            validator.AddError(prefix + "diskGiB", "is required");
        }
        else if (diskGiB < 1)
        {
            validator.AddError(prefix + "diskGiB", "must be at least 1 (GiB)");
        }
        else if (diskGiB > Sizes.MaxDiskGiB)
        {
            validator.AddError(prefix + "diskGiB", $"must be at most {Sizes.MaxDiskGiB} (GiB, 1 PiB)");
        }

        if (diskClass is not null && !ApiNames.IsName(diskClass))
        {
            validator.AddError(prefix + "diskClass", ApiNames.NameRule);
        }

        return validator.Errors.Count > before || cpus is null || memoryMiB is null || diskGiB is null
            ? null
            : new InstanceShape(
                cpus.Value,
                memoryMiB.Value,
                swapMiB ?? 0,
                swappiness ?? DefaultSwappiness,
                diskGiB.Value,
                diskClass ?? DefaultDiskClass,
                numa ?? DefaultNuma);
    }
}
