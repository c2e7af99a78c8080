using System.Security.Cryptography;
using System.Text;

namespace ImapActors.Domain;

/// <summary>The name of a configured asset (a mailbox account), as written in the configuration.</summary>
public sealed record AssetName
{
    public AssetName(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Value = value;
    }

    public string Value { get; }

    public override string ToString() => Value;
}

/// <summary>An IMAP folder name exactly as configured (case and spelling kept: the reference hashes it as is).</summary>
public sealed record FolderName
{
    public FolderName(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        Value = value;
    }

    public string Value { get; }

    public override string ToString() => Value;
}

/// <summary>One polled mailbox: an asset and one of its folders.</summary>
public sealed record MailboxId(AssetName Asset, FolderName Folder)
{
    /// <summary>
    /// A short, stable id usable as an actor name and a persistence id. Folder names can be long and hold any
    /// character, so the folder is hashed; the asset name is kept readable.
    /// </summary>
    public string StableId
    {
        get
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Folder.Value)))[..16];
            var asset = new string(Asset.Value.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
            if (asset.Length > 64)
            {
                asset = asset[..64];
            }

            return $"{asset}.{hash}";
        }
    }

    public override string ToString() => $"{Asset.Value}/{Folder.Value}";
}

/// <summary>A vault file's id: the lowercase hex SHA-1 of its content, as the SOAR vault names files.</summary>
public sealed record VaultId
{
    public VaultId(string sha1Hex)
    {
        if (sha1Hex is null || sha1Hex.Length != 40 || !sha1Hex.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException("A vault id is 40 lowercase hex digits.", nameof(sha1Hex));
        }

        Value = sha1Hex;
    }

    public string Value { get; }

    public override string ToString() => Value;
}
