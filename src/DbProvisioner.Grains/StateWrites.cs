using DbProvisioner.Contracts;

namespace DbProvisioner.Grains;

/// <summary>
/// Writes of grain state that never leave an activation holding what storage does not: when a write fails, the state
/// in memory goes back to what is stored (read again), and when even that read fails the activation is given up
/// (<paramref name="lost"/>, usually <c>DeactivateOnIdle</c>) so that the next call starts from storage.
/// </summary>
internal static class StateWrites
{
    /// <param name="revert">Undoes this call's change in memory at once, for a grain that must not answer from it even
    /// until the activation is gone (a repeat of the same change would otherwise look already done).</param>
    public static async Task WriteOrReloadAsync<T>(this IPersistentState<T> state, Action lost, Action? revert = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(lost);
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            revert?.Invoke();
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
