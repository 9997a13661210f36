using Orleans.Runtime;

namespace DbProvisioner.Contracts;

/// <summary>
/// Grain references by string key without Orleans' lookup of the grain type on every <c>GetGrain</c> (it reads the
/// interface's attributes by reflection each time: about a tenth of a placement's CPU in a profile). The grain type and
/// interface type of each grain interface are resolved once, by an ordinary <c>GetGrain</c>, and reused. For grains
/// calling grains: a silo knows every grain type from the start (a client still learning the cluster's types would not).
/// </summary>
public static class GrainRefs
{
    public static T Get<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(grains);
        if (Resolved<T>.Types is { } types) return (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);
        var reference = grains.GetGrain<T>(key);
        if (reference is GrainReference g && !g.GrainId.Type.IsDefault) Resolved<T>.Types = new(g.GrainId.Type, g.InterfaceType);
        return reference;
    }

    private sealed record ResolvedTypes(GrainType Grain, GrainInterfaceType Interface);

    // One per grain interface; the same names in every silo of the process (they come from the types' aliases and names).
    private static class Resolved<T>
    {
        public static volatile ResolvedTypes? Types;
    }
}
