namespace DbProvisioner.Api;

/// <summary>The failure domain a spread rule counts members in.</summary>
public enum SpreadDomain
{
    Host,
    Rack,
    Zone,
}

/// <summary>Hard: never violated (the placement fails instead). Soft: preferred by the score.</summary>
public enum SpreadMode
{
    Hard,
    Soft,
}
