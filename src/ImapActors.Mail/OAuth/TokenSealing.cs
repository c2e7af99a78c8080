using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>
/// The encrypted form of one asset's tokens, the same in a file and in a database row: a version tag, then AES-256-GCM
/// (nonce, tag, ciphertext) of their JSON under a 32-byte key, with the asset name as the associated data, so tokens
/// copied to another asset's name do not decrypt.
/// </summary>
public static class TokenSealing
{
    /// <summary>How to make a key, for error messages and docs.</summary>
    public const string KeyHowTo = "head -c 32 /dev/urandom | base64 > tokens.key";

    private static readonly byte[] Magic = "IATS1"u8.ToArray();
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    /// <summary>The 32-byte key a secret holds as base64 text (read from a key file or an environment variable).</summary>
    /// <exception cref="OAuthException">The key is missing, not base64, or not 32 bytes; the message says how to make one.</exception>
    public static byte[] KeyFrom(Secret? keyBase64)
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

        CheckKey(key);
        return key;
    }

    /// <exception cref="OAuthException">The key is not 32 bytes.</exception>
    public static void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32)
        {
            throw new OAuthException($"the token-store key must be 32 bytes, got {key.Length}; make one with: {KeyHowTo}");
        }
    }

    /// <summary>The encrypted form of <paramref name="tokens"/> for <paramref name="asset"/>.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> key, AssetName asset, StoredTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(tokens);
        var plain = JsonSerializer.SerializeToUtf8Bytes(tokens);
        var data = new byte[Magic.Length + NonceBytes + TagBytes + plain.Length];
        Magic.CopyTo(data, 0);
        RandomNumberGenerator.Fill(data.AsSpan(Magic.Length, NonceBytes));
        using (var aes = new AesGcm(key, TagBytes))
        {
            aes.Encrypt(data.AsSpan(Magic.Length, NonceBytes), plain, data.AsSpan(Magic.Length + NonceBytes + TagBytes),
                data.AsSpan(Magic.Length + NonceBytes, TagBytes), Encoding.UTF8.GetBytes(asset.Value));
        }

        CryptographicOperations.ZeroMemory(plain);
        return data;
    }

    /// <summary>The tokens <paramref name="data"/> holds for <paramref name="asset"/>.</summary>
    /// <param name="key">The 32-byte key.</param>
    /// <param name="asset">The asset the data was sealed for.</param>
    /// <param name="data">What <see cref="Seal"/> made.</param>
    /// <param name="where">Where the data was read, as messages name it ("the token file '/x/a.tokens'").</param>
    /// <exception cref="OAuthException">The data is of another version, damaged, or sealed under another key or asset.</exception>
    public static StoredTokens Open(ReadOnlySpan<byte> key, AssetName asset, ReadOnlySpan<byte> data, string where)
    {
        ArgumentNullException.ThrowIfNull(asset);
        if (data.Length < Magic.Length + NonceBytes + TagBytes || !data[..Magic.Length].SequenceEqual(Magic))
        {
            throw new OAuthException($"{where} is not a token file of this version");
        }

        var nonce = data.Slice(Magic.Length, NonceBytes);
        var tag = data.Slice(Magic.Length + NonceBytes, TagBytes);
        var cipher = data[(Magic.Length + NonceBytes + TagBytes)..];
        var plain = new byte[cipher.Length];
        try
        {
            using var aes = new AesGcm(key, TagBytes);
            aes.Decrypt(nonce, cipher, tag, plain, Encoding.UTF8.GetBytes(asset.Value));
            return JsonSerializer.Deserialize<StoredTokens>(plain) ?? throw new OAuthException($"{where} is empty");
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new OAuthException($"{where} does not decrypt with the configured key (another key, or damaged data)");
        }
        catch (JsonException)
        {
            throw new OAuthException($"{where} is damaged");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }
}
