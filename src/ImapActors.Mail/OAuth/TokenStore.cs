using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>The tokens kept for one asset. <see cref="ToString"/> never shows a token.</summary>
/// <param name="ClientId">The client the tokens were issued to; a different configured client needs a new sign-in.</param>
/// <param name="RefreshToken">The refresh token; null for an app-only (client_credentials) asset.</param>
/// <param name="AccessToken">The last access token, so a restart, or another node, need not refresh at once.</param>
/// <param name="AccessTokenExpires">When <paramref name="AccessToken"/> expires.</param>
/// <param name="AccessTokenIssued">When <paramref name="AccessToken"/> was issued, so that every reader renews it the same
/// margin before it expires; null in tokens stored before it was kept.</param>
public sealed record StoredTokens(
    [property: JsonPropertyName("client_id")] string? ClientId,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("access_token_expires")] DateTimeOffset? AccessTokenExpires,
    [property: JsonPropertyName("access_token_issued")] DateTimeOffset? AccessTokenIssued = null)
{
    public override string ToString() =>
        $"StoredTokens {{ ClientId = {ClientId}, RefreshToken = {(RefreshToken is null ? "none" : "***")}, AccessToken = {(AccessToken is null ? "none" : "***")}, AccessTokenExpires = {AccessTokenExpires:O} }}";
}

/// <summary>
/// Per-asset token files in one folder, sealed as <see cref="TokenSealing"/> describes. Files are written atomically
/// (temporary file, then rename) with mode 0600. <see cref="UpdateAsync"/> holds a lock file beside the asset's file, so
/// processes on one machine sharing the folder refresh one at a time; a cluster keeps its tokens in the database instead.
/// </summary>
public sealed class TokenStore : ITokenStore
{
    /// <summary>How to make a key, for error messages and docs.</summary>
    public const string KeyHowTo = TokenSealing.KeyHowTo;

    private static readonly TimeSpan LockRetry = TimeSpan.FromMilliseconds(50);
    private readonly byte[] _key;

    /// <param name="directory">The folder of the token files; created (0700) when missing.</param>
    /// <param name="key">The 32-byte AES key.</param>
    public TokenStore(string directory, ReadOnlySpan<byte> key)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        TokenSealing.CheckKey(key);
        Directory = Path.GetFullPath(directory);
        _key = key.ToArray();
    }

    /// <summary>The folder of the token files.</summary>
    public string Directory { get; }

    /// <summary>
    /// A store whose key is the base64 text of a secret (read from a key file or an environment variable).
    /// </summary>
    /// <exception cref="OAuthException">The key is missing, not base64, or not 32 bytes; the message says how to make one.</exception>
    public static TokenStore Open(string directory, Secret? keyBase64)
    {
        var key = TokenSealing.KeyFrom(keyBase64);
        try
        {
            return new TokenStore(directory, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The file of <paramref name="asset"/>: its name when that is a safe file name, else a hash of it.</summary>
    public string PathFor(AssetName asset)
    {
        ArgumentNullException.ThrowIfNull(asset);
        var name = asset.Value;
        var safe = name.Length is > 0 and <= 100 && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        var file = safe ? name : "asset-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..24];
        return Path.Combine(Directory, file + ".tokens");
    }

    /// <inheritdoc />
    public string Describe(AssetName asset) => $"the token file '{PathFor(asset)}'";

    /// <inheritdoc />
    public StoredTokens? Load(AssetName asset)
    {
        var path = PathFor(asset);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OAuthException($"the token file '{path}' cannot be read: {e.Message}", e);
        }

        return TokenSealing.Open(_key, asset, data, $"the token file '{path}'");
    }

    /// <inheritdoc />
    public void Save(AssetName asset, StoredTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var path = PathFor(asset);
        var data = TokenSealing.Seal(_key, asset, tokens);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            EnsureDirectory();
            using (var file = new FileStream(temp, PrivateFile(FileMode.CreateNew)))
            {
                file.Write(data);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new OAuthException($"the token file '{path}' cannot be written: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public async Task UpdateAsync(AssetName asset, Func<StoredTokens?, CancellationToken, Task<StoredTokens?>> update,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        var lockPath = PathFor(asset) + ".lock";
        using var held = await LockAsync(lockPath, cancellationToken).ConfigureAwait(false);
        if (await update(Load(asset), cancellationToken).ConfigureAwait(false) is { } tokens)
        {
            Save(asset, tokens);
        }
    }

    // An exclusive open is an exclusive flock on Unix: another process (or another open in this one) is refused until
    // it is closed, and a process that dies releases it.
    private async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        EnsureDirectory();
        while (true)
        {
            try
            {
                return new FileStream(path, PrivateFile(FileMode.OpenOrCreate));
            }
            catch (IOException) when (File.Exists(path))
            {
                await Task.Delay(LockRetry, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new OAuthException($"the token lock file '{path}' cannot be opened: {e.Message}", e);
            }
        }
    }

    private static FileStreamOptions PrivateFile(FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return options;
    }
    private void EnsureDirectory()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
