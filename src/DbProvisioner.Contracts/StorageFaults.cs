using Orleans.Storage;

namespace DbProvisioner.Contracts;

/// <summary>
/// The meta database did not take or give grain state (down, restarting, out of connections). Nothing was stored by
/// the call that failed; the API answers 503 and the caller may retry.
/// </summary>
[GenerateSerializer, Alias("dbprov.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Tells a storage fault (retry later, nothing was decided) from a failure of the work itself.</summary>
public static class StorageFaults
{
    /// <summary>True when <paramref name="exception"/> or one it wraps says the state could not be read or written.</summary>
    public static bool IsStorageFault(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is StorageUnavailableException or InconsistentStateException)
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsStorageFault))
            {
                return true;
            }
        }

        return false;
    }
}
