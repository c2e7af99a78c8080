using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;

namespace ImapActors.Extraction;

/// <summary>Renders a <see cref="ProcessedEmail"/> in the JSON shape of the reference outputs (corpus-expected).</summary>
public static class ContainerJson
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    /// <summary>
    /// <c>{"file"?, "container", "artifacts", "artifact_count", "vault", "issues"}</c>, artifacts sorted by name then
    /// by their canonical CEF JSON, as in corpus-expected.
    /// </summary>
    public static JsonObject ToJson(ProcessedEmail email, string? file = null)
    {
        ArgumentNullException.ThrowIfNull(email);
        var result = new JsonObject();
        if (file is not null)
        {
            result["file"] = file;
        }

        var c = email.Container;
        result["container"] = new JsonObject
        {
            ["name"] = c.Name,
            ["source_data_identifier"] = c.SourceDataIdentifier,
            ["label"] = c.Label,
            ["run_automation"] = false,
            ["message_id"] = c.MessageId,
            ["raw_sha256"] = c.RawSha256,
            ["raw_size"] = c.RawSize,
        };
        var artifacts = new JsonArray();
        foreach (var a in SortedArtifacts(email.Artifacts))
        {
            artifacts.Add(Artifact(a));
        }

        result["artifacts"] = artifacts;
        result["artifact_count"] = email.Artifacts.Count;
        var vault = new JsonArray();
        foreach (var f in email.VaultFiles)
        {
            vault.Add(new JsonObject { ["file_name"] = f.FileName, ["vault_id"] = f.VaultId.Value, ["size"] = f.Size });
        }

        result["vault"] = vault;
        var issues = new JsonArray();
        foreach (var i in email.Issues)
        {
            issues.Add(new JsonObject { ["code"] = i.Code, ["detail"] = i.Detail });
        }

        result["issues"] = issues;
        return result;
    }

    /// <summary>One artifact in the SOAR shape: name, cef, cef_types, run_automation, source_data_identifier.</summary>
    public static JsonObject Artifact(Artifact artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        return new JsonObject
        {
            ["name"] = artifact.Name,
            ["cef"] = artifact.Cef.DeepClone(),
            ["cef_types"] = artifact.CefTypes?.DeepClone(),
            ["run_automation"] = artifact.RunAutomation,
            ["source_data_identifier"] = artifact.SourceDataIdentifier,
        };
    }

    /// <summary>The artifacts sorted by name, then by canonical (key-sorted) CEF JSON, ordinally.</summary>
    public static IReadOnlyList<Artifact> SortedArtifacts(IEnumerable<Artifact> artifacts) =>
        artifacts.Select(a => (a, key: CanonicalJson.Serialize(a.Cef)))
            .OrderBy(p => p.a.Name, StringComparer.Ordinal)
            .ThenBy(p => p.key, StringComparer.Ordinal)
            .Select(p => p.a)
            .ToList();

    /// <summary>One line of JSON (for JSON lines output).</summary>
    public static string ToJsonLine(ProcessedEmail email, string? file = null) => ToJson(email, file).ToJsonString(Compact);

    /// <summary>Indented JSON, for people.</summary>
    public static string ToIndentedJson(ProcessedEmail email, string? file = null) => ToJson(email, file).ToJsonString(Indented);
}
