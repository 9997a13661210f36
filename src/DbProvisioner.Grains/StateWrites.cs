using DbProvisioner.Contracts;

namespace DbProvisioner.Grains;

/// <summary>
/// Writes of grain state that never leave an activation holding what storage does not: when a write fails, the state
/// in memory goes back to what is stored (read again), and when even that read fails the activation is given up
/// (<paramref name="lost"/>, usually <c>DeactivateOnIdle</c>) so that the next call starts from storage.
/// </summary>
internal static class StateWrites
{
    public static async Task WriteOrReloadAsync<T>(this IPersistentState<T> state, Action lost)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(lost);
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            try
            {
                await state.ReadStateAsync();
            }
            catch (Exception) when (e is not OutOfMemoryException)
            {
                lost();
            }

            throw new StorageUnavailableException($"state not stored: {(e.InnerException ?? e).Message}", e);
        }
    }
}
