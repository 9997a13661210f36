namespace DbProvisioner.Cli;

/// <summary>
/// What <c>dbprov</c> returns, so scripts can branch on it. Documented in <c>dbprov --help</c> and README.md.
/// </summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Anything else: the server is unreachable, answered 5xx, or something unexpected failed.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong, or no URL or key could be found for it (nothing was sent).</summary>
    public const int Usage = 2;

    /// <summary>The server does not know the id or name (404).</summary>
    public const int NotFound = 3;

    /// <summary>The server refused the request as invalid or impossible (400, 409, 422): nothing was changed.</summary>
    public const int Rejected = 4;

    /// <summary>The key is missing, unknown or revoked (401), or its role may not do this (403).</summary>
    public const int Auth = 5;

    public const string Help =
        "Exit codes: 0 ok, 1 other failure, 2 usage or missing configuration, 3 not found, 4 rejected or invalid input, 5 authentication or role.";

    public static int FromHttpStatus(int status) => status switch
    {
        401 or 403 => Auth,
        404 => NotFound,
        400 or 409 or 422 => Rejected,
        _ => Failure,
    };
}
