namespace DbProvisioner.Domain;

/// <summary>
/// A lazily filled cache slot inside an immutable record. It takes no part in the record's
/// equality: two states with the same fields are equal whether or not either derived its cache.
/// </summary>
internal struct CacheSlot<T> : IEquatable<CacheSlot<T>>
    where T : class
{
    public T? Value;

    public readonly bool Equals(CacheSlot<T> other) => true;
    public override readonly bool Equals(object? obj) => obj is CacheSlot<T>;
    public override readonly int GetHashCode() => 0;
    public static bool operator ==(CacheSlot<T> left, CacheSlot<T> right) => left.Equals(right);
    public static bool operator !=(CacheSlot<T> left, CacheSlot<T> right) => !left.Equals(right);
}
