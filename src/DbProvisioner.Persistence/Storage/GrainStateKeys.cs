namespace DbProvisioner.Persistence.Storage;

/// <summary>
/// The keys of the grains of one type that have stored state, read from <c>grain_state</c> itself: the source of truth
/// for crash recovery, where the derived catalog may miss what a crash kept it from hearing.
/// </summary>
public sealed class GrainStateKeys(MetaDbConnectionFactory connections)
{
    /// <summary>Keys of the grains of <paramref name="grainType"/> (e.g. <c>instance</c>) with state (tombstones left out).</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string grainType, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(grainType);
        await using var connection = await connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT grain_id FROM grain_state WHERE grain_type = @type AND payload IS NOT NULL ORDER BY grain_id";
        command.Parameters.AddWithValue("@type", grainType);
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }
}
