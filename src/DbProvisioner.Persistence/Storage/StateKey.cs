using MySqlConnector;
using Orleans.Runtime;

namespace DbProvisioner.Persistence.Storage;

/// <summary>The primary key of one row of <c>grain_state</c>.</summary>
internal readonly record struct StateKey(string GrainType, string GrainKey, string StateName) : IComparable<StateKey>
{
    public static StateKey Of(string stateName, GrainId grainId)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateName);
        if (grainId.IsDefault)
        {
            throw new ArgumentException("The grain id is empty.", nameof(grainId));
        }

        var key = new StateKey(grainId.Type.ToString()!, grainId.Key.ToString()!, stateName);
        if (key.GrainType.Length > 128 || key.GrainKey.Length > 512 || key.StateName.Length > 64)
        {
            throw new ArgumentException(
                $"Grain {grainId} state '{stateName}' is too long for grain_state (type 128, key 512, state name 64 characters).");
        }

        return key;
    }

    public void AddParameters(MySqlParameterCollection parameters)
    {
        parameters.AddWithValue("@type", GrainType);
        parameters.AddWithValue("@id", GrainKey);
        parameters.AddWithValue("@state", StateName);
    }

    // Ordinal, like the table's utf8mb4_bin key: every batch locks rows in one order, so two batches cannot deadlock.
    public int CompareTo(StateKey other)
    {
        var c = string.CompareOrdinal(GrainType, other.GrainType);
        if (c == 0) c = string.CompareOrdinal(GrainKey, other.GrainKey);
        return c == 0 ? string.CompareOrdinal(StateName, other.StateName) : c;
    }
}
