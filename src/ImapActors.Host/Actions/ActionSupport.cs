using System.Globalization;
using ImapActors.Domain;
using ImapActors.Mail;

namespace ImapActors.Host.Actions;

/// <summary>
/// An action that cannot run or failed, with a message for the user that names no secret. A usage error (bad parameter,
/// unknown asset) is the caller's to fix before trying again.
/// </summary>
public sealed class ActionFailedException : Exception
{
    public ActionFailedException(string message, bool isUsageError = false, Exception? inner = null)
        : base(message, inner) => IsUsageError = isUsageError;

    public ActionFailedException() : this("The action failed") { }

    public ActionFailedException(string message) : this(message, false) { }

    public ActionFailedException(string message, Exception inner) : this(message, false, inner) { }

    /// <summary>True for bad input or configuration; false when the action ran and failed.</summary>
    public bool IsUsageError { get; }
}

/// <summary>Helpers the actions share: parameter validation as the reference does it, asset lookup, failure wording.</summary>
public static class ActionSupport
{
    /// <summary>
    /// The reference's <c>validate_integers</c>: a value that reads as a whole number (<c>7</c>, <c>7.0</c>) passes; the
    /// messages are the reference's, word for word.
    /// </summary>
    /// <param name="value">The parameter as the user typed it.</param>
    /// <param name="key">The parameter's name in the reference (<c>id</c>, <c>container_id</c>, <c>container_count</c>).</param>
    /// <param name="allowZero">Whether 0 is valid.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ActionFailedException">A usage error with the reference's message.</exception>
    public static long ValidateInteger(string value, string key, bool allowZero = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            || !double.IsFinite(number) || Math.Floor(number) != number || Math.Abs(number) > long.MaxValue / 2)
        {
            throw new ActionFailedException($"Please provide a valid integer value in the {key} parameter", isUsageError: true);
        }

        if (number < 0)
        {
            throw new ActionFailedException($"Please provide a valid non-negative integer value in the {key} parameter", isUsageError: true);
        }

        if (number == 0 && !allowZero)
        {
            throw new ActionFailedException($"Please provide a positive integer value in the {key} parameter", isUsageError: true);
        }

        return (long)number;
    }

    /// <summary>The asset named <paramref name="name"/>, or a usage error listing the configured assets.</summary>
    /// <exception cref="ActionFailedException">No asset has that name.</exception>
    public static AssetSettings FindAsset(EngineSettings settings, string name)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var asset = settings.Assets.FirstOrDefault(a => string.Equals(a.Name.Value, name, StringComparison.Ordinal));
        if (asset is not null)
        {
            return asset;
        }

        var known = settings.Assets.Count == 0 ? "none" : string.Join(", ", settings.Assets.Select(a => a.Name.Value));
        throw new ActionFailedException($"No asset named '{name}' in the configuration. Configured assets: {known}", isUsageError: true);
    }

    /// <summary>
    /// The token source for an OAuth asset, or a failure saying none is available; null for a Basic asset (which needs none).
    /// </summary>
    /// <exception cref="ActionFailedException">The asset uses OAuth and <paramref name="tokens"/> gives no source for it.</exception>
    public static IAccessTokenProvider? TokensFor(AssetSettings asset, AccessTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(asset);
        if (asset.AuthType != AuthType.OAuth)
        {
            return null;
        }

        ArgumentNullException.ThrowIfNull(tokens);
        return tokens.For(asset) ?? throw new ActionFailedException(
            $"Asset '{asset.Name}' uses OAuth, and no OAuth access token is available for it: sign in for this asset first, or use a Basic asset");
    }

    /// <summary>The cause of an IMAP failure in a few words, for the start of the line that reports it.</summary>
    public static string Describe(ImapFailureCause cause) => cause switch
    {
        ImapFailureCause.NameNotResolved => "Server name does not resolve",
        ImapFailureCause.ConnectionRefused => "Connection refused",
        ImapFailureCause.Timeout => "Timed out",
        ImapFailureCause.CertificateNotTrusted => "Certificate not trusted",
        ImapFailureCause.CertificateNameMismatch => "Certificate name mismatch",
        ImapFailureCause.StartTlsNotOffered => "STARTTLS not offered",
        ImapFailureCause.AuthenticationFailed => "Authentication failed",
        ImapFailureCause.FolderNotFound => "Folder does not exist",
        ImapFailureCause.ConnectionLost => "Connection lost",
        ImapFailureCause.TokenUnavailable => "OAuth token refresh refused",
        ImapFailureCause.TokenEndpointUnreachable => "OAuth token endpoint unreachable",
        _ => "IMAP error",
    };

    /// <summary>One line for an IMAP failure: its cause in words, then the session's message (which names no secret).</summary>
    public static string Describe(ImapFailureException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return $"{Describe(failure.Cause)}: {failure.Message}";
    }

    /// <summary>Where fetched messages too large for memory are written.</summary>
    /// <summary>
    /// A raw email read back from the vault, whichever keeps it: in memory up to <c>large-message-bytes</c>, as fetching
    /// keeps it, else in a temporary file disposing it deletes; null when the vault does not hold it.
    /// </summary>
    /// <summary>A container's raw email, from the store when it keeps it, else from the vault.</summary>
    internal static RawEmail? ReadRawEmail(IVault vault, Storage.StoredContainer container, EngineSettings settings) =>
        container.RawBytes is { } bytes ? RawEmail.FromBytes(bytes) : ReadRawEmail(vault, container.RawEmail, settings);

    internal static RawEmail? ReadRawEmail(IVault vault, VaultId id, EngineSettings settings)
    {
        // Copied out and closed at once: a database vault's stream holds a connection while it is open.
        using var stream = vault.OpenRead(id);
        return stream is null ? null : RawEmail.FromStream(stream, settings.LargeMessageBytes, TempDirectory);
    }

    internal static string TempDirectory => Path.Combine(Path.GetTempPath(), "imapactors-fetch");
}
