using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>The tokens kept for one asset. <see cref="ToString"/> never shows a token.</summary>
/// <param name="ClientId">The client the tokens were issued to; a different configured client needs a new sign-in.</param>
/// <param name="RefreshToken">The refresh token; null for an app-only (client_credentials) asset.</param>
/// <param name="AccessToken">The last access token, so a restart need not refresh at once.</param>
/// <param name="AccessTokenExpires">When <paramref name="AccessToken"/> expires.</param>
public sealed record StoredTokens(
    [property: JsonPropertyName("client_id")] string? ClientId,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("access_token_expires")] DateTimeOffset? AccessTokenExpires)
{
    public override string ToString() =>
        $"StoredTokens {{ ClientId = {ClientId}, RefreshToken = {(RefreshToken is null ? "none" : "***")}, AccessToken = {(AccessToken is null ? "none" : "***")}, AccessTokenExpires = {AccessTokenExpires:O} }}";
}

/// <summary>
/// Per-asset token files in one folder, encrypted with AES-256-GCM under a 32-byte key; the asset name is the
/// associated data, so a file copied to another asset's name does not decrypt. Files are written atomically
/// (temporary file, then rename) with mode 0600. Safe to use from several threads and processes: each write
/// replaces the whole file.
/// </summary>
public sealed class TokenStore
{
    /// <summary>How to make a key, for error messages and docs.</summary>
    public const string KeyHowTo = "head -c 32 /dev/urandom | base64 > tokens.key";

    private static readonly byte[] Magic = "IATS1"u8.ToArray();
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private readonly byte[] _key;

    /// <param name="directory">The folder of the token files; created (0700) when missing.</param>
    /// <param name="key">The 32-byte AES key.</param>
    public TokenStore(string directory, ReadOnlySpan<byte> key)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (key.Length != 32)
        {
            throw new OAuthException($"the token-store key must be 32 bytes, got {key.Length}; make one with: {KeyHowTo}");
        }

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
        if (keyBase64 is null || string.IsNullOrWhiteSpace(keyBase64.Value))
        {
            throw new OAuthException(
                $"OAuth assets need a token-store key: set imapactors.oauth.key_file (or key_env); make one with: {KeyHowTo}");
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(keyBase64.Value.Trim());
        }
        catch (FormatException)
        {
            throw new OAuthException($"the token-store key is not base64; make one with: {KeyHowTo}");
        }

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

    /// <summary>Reads the tokens of <paramref name="asset"/>; null when none are stored.</summary>
    /// <exception cref="OAuthException">The file cannot be read or decrypted (wrong key, damaged file).</exception>
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

        if (data.Length < Magic.Length + NonceBytes + TagBytes || !data.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new OAuthException($"the token file '{path}' is not a token file of this version");
        }

        var nonce = data.AsSpan(Magic.Length, NonceBytes);
        var tag = data.AsSpan(Magic.Length + NonceBytes, TagBytes);
        var cipher = data.AsSpan(Magic.Length + NonceBytes + TagBytes);
        var plain = new byte[cipher.Length];
        try
        {
            using var aes = new AesGcm(_key, TagBytes);
            aes.Decrypt(nonce, cipher, tag, plain, Encoding.UTF8.GetBytes(asset.Value));
            return JsonSerializer.Deserialize<StoredTokens>(plain)
                ?? throw new OAuthException($"the token file '{path}' is empty");
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new OAuthException($"the token file '{path}' does not decrypt with the configured key (another key, or a damaged file)");
        }
        catch (JsonException)
        {
            throw new OAuthException($"the token file '{path}' is damaged");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>Encrypts and writes the tokens of <paramref name="asset"/>, replacing the file atomically.</summary>
    /// <exception cref="OAuthException">The file cannot be written.</exception>
    public void Save(AssetName asset, StoredTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var path = PathFor(asset);
        var plain = JsonSerializer.SerializeToUtf8Bytes(tokens);
        var data = new byte[Magic.Length + NonceBytes + TagBytes + plain.Length];
        Magic.CopyTo(data, 0);
        var nonce = data.AsSpan(Magic.Length, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_key, TagBytes))
        {
            aes.Encrypt(nonce, plain, data.AsSpan(Magic.Length + NonceBytes + TagBytes), data.AsSpan(Magic.Length + NonceBytes, TagBytes),
                Encoding.UTF8.GetBytes(asset.Value));
        }

        CryptographicOperations.ZeroMemory(plain);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            EnsureDirectory();
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var file = new FileStream(temp, options))
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
