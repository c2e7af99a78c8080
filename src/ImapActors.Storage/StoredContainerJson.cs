using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction;

namespace ImapActors.Storage;

/// <summary>
/// A stored container in the SOAR shape, as <c>imapactors containers show</c> and <c>containers list --format json</c>
/// print it: one renderer, so every front end (the CLI, an HTTP API) writes the same bytes.
/// </summary>
public static class StoredContainerJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>How many characters of the raw email a brief rendering keeps.</summary>
    private const int BriefRawEmail = 300;

    /// <summary>The container as SOAR shows it, with <c>data.raw_email</c> read back from the vault.</summary>
    public static JsonObject ToJson(StoredContainer container, IVault vault)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(vault);
        var s = container.Summary;
        var artifacts = new JsonArray();
        foreach (var a in container.Artifacts)
        {
            artifacts.Add(ContainerJson.Artifact(a));
        }

        var vaultFiles = new JsonArray();
        foreach (var v in container.VaultFiles)
        {
            vaultFiles.Add(new JsonObject { ["file_name"] = v.FileName, ["vault_id"] = v.VaultId.Value, ["size"] = v.Size, ["sha256"] = v.Sha256 });
        }

        return new JsonObject
        {
            ["id"] = s.Id,
            ["name"] = s.Name,
            ["source_data_identifier"] = s.SourceDataIdentifier,
            ["label"] = container.Label,
            ["asset"] = s.Asset,
            ["folder"] = s.Folder,
            ["uid_validity"] = s.UidValidity,
            ["uid"] = s.Uid,
            ["message_id"] = s.MessageId,
            ["raw_sha256"] = container.RawSha256,
            ["created"] = s.CreatedAt,
            ["node"] = s.Node,
            ["data"] = new JsonObject { ["raw_email"] = ReadRawEmail(vault, container) },
            ["artifact_count"] = container.Artifacts.Count,
            ["artifacts"] = artifacts,
            ["vault"] = vaultFiles,
        };
    }

    /// <summary>
    /// <see cref="ToJson"/> indented, non-ASCII text left as it is; <paramref name="brief"/> shortens the raw email and
    /// collapses each artifact's header objects into their count, for reading in a terminal.
    /// </summary>
    public static string ToIndentedJson(StoredContainer container, IVault vault, bool brief = false)
    {
        var json = ToJson(container, vault);
        if (brief)
        {
            Abbreviate(json);
        }

        return json.ToJsonString(Indented);
    }

    /// <summary>One row of the container list: id, asset, folder, name, SDI, UIDVALIDITY, UID, Message-ID, artifact count, created, node.</summary>
    public static JsonObject Summary(ContainerSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new JsonObject
        {
            ["id"] = summary.Id, ["asset"] = summary.Asset, ["folder"] = summary.Folder, ["name"] = summary.Name,
            ["source_data_identifier"] = summary.SourceDataIdentifier, ["uid_validity"] = summary.UidValidity, ["uid"] = summary.Uid,
            ["message_id"] = summary.MessageId, ["artifact_count"] = summary.ArtifactCount, ["created"] = summary.CreatedAt,
            ["node"] = summary.Node,
        };
    }

    /// <summary>
    /// <see cref="Summary"/> on one line for JSON lines output, with the serializer's default escaping (non-ASCII as
    /// <c>\uXXXX</c>), as the list has always printed it.
    /// </summary>
    public static string ToJsonLine(ContainerSummary summary) => JsonSerializer.Serialize(Summary(summary));

    /// <summary>The container's raw email (from the store or the vault) as text, as <see cref="ReadRawEmail(IVault, VaultId)"/>.</summary>
    public static string? ReadRawEmail(IVault vault, StoredContainer container)
    {
        ArgumentNullException.ThrowIfNull(container);
        return container.RawBytes is { } bytes ? RawEmailText(bytes) : ReadRawEmail(vault, container.RawEmail);
    }

    /// <summary>The raw email as the reference keeps it: UTF-8, or Latin-1 when the bytes are not valid UTF-8; null when the vault lacks it.</summary>
    public static string? ReadRawEmail(IVault vault, VaultId id)
    {
        ArgumentNullException.ThrowIfNull(vault);
        using var stream = vault.OpenRead(id);
        if (stream is null)
        {
            return null;
        }

        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return RawEmailText(memory.ToArray());
    }

    private static string RawEmailText(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.Latin1.GetString(bytes);
        }
    }

    private static void Abbreviate(JsonObject container)
    {
        if (container["data"]?["raw_email"]?.GetValue<string>() is { Length: > BriefRawEmail } raw)
        {
            container["data"]!["raw_email"] = raw[..BriefRawEmail] + $"... ({raw.Length} characters)";
        }

        foreach (var artifact in container["artifacts"]!.AsArray())
        {
            var cef = artifact!["cef"]!.AsObject();
            foreach (var key in new[] { "emailHeaders", "headers" })
            {
                if (cef[key] is JsonObject headers)
                {
                    cef[key] = $"{{{headers.Count} headers}}";
                }
            }
        }
    }
}
