using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using MimeKit;

namespace ImapActors.Extraction.Internal;

/// <summary>A message's container and its artifacts, in the reference connector's order, from what the parts collected.</summary>
internal static class ExtractionResult
{
    internal const string StatusArtifactName = "Email Ingestion Status";

    /// <summary>
    /// Folder hashes already computed: every message of a folder has the same one, and a process reads a few folders.
    /// Once the table is full, further folders are hashed each time.
    /// </summary>
    private static readonly ConcurrentDictionary<(string Folder, bool Fips), string> FolderHashes = new();

    public static ProcessedEmail Build(
        MessageContext context, ParsedEmail parsed, string label, Indicators indicators, EmailArtifacts emails, Attachments attachments)
    {
        var artifacts = new List<Artifact>();
        foreach (var ip in indicators.Ips)
        {
            artifacts.Add(context.MakeArtifact("IP Artifact", new JsonObject { ["sourceAddress"] = ip }, null));
        }

        foreach (var h in indicators.Hashes)
        {
            artifacts.Add(context.MakeArtifact("Hash Artifact", new JsonObject { ["fileHash"] = h }, null));
        }

        foreach (var u in indicators.Urls)
        {
            artifacts.Add(context.MakeArtifact("URL Artifact", new JsonObject { ["requestURL"] = u }, null));
        }

        foreach (var d in indicators.Domains)
        {
            artifacts.Add(context.MakeArtifact("Domain Artifact", new JsonObject { ["destinationDnsDomain"] = d }, null));
        }

        artifacts.AddRange(emails.Artifacts);
        artifacts.AddRange(attachments.Artifacts);
        var issues = context.Issues;
        if (issues.Count > 0)
        {
            var cef = new JsonObject
            {
                ["ingestionStatus"] = "Completed with errors",
                ["ingestionIssues"] = new JsonArray(issues.Select(i => (JsonNode?)$"{i.Code}: {i.Detail}").ToArray()),
            };
            if (attachments.AnyFailed)
            {
                cef["attachmentIngestionStatus"] = "Completed with attachment errors";
            }

            artifacts.Add(context.MakeArtifact(StatusArtifactName, cef, null));
        }

        // Playbooks start on one artifact, as with the reference connector: the last file's Vault Artifact when there
        // are files, so a playbook that works on files sees them all, otherwise the last artifact.
        var vaultArtifacts = attachments.Artifacts;
        var trigger = vaultArtifacts.Count > 0 ? artifacts.LastIndexOf(vaultArtifacts[^1]) : artifacts.Count - 1;
        if (trigger >= 0)
        {
            artifacts[trigger] = artifacts[trigger] with { RunAutomation = true };
        }

        var message = parsed.Message;
        var source = parsed.Source;
        var container = new EmailContainer
        {
            Name = ContainerName(message, source.Uid),
            SourceDataIdentifier = ContainerSdi(source.Folder.Value, source.Uid, context.Settings.Fips),
            Label = label,
            Source = source,
            MessageId = message?.MessageId,
            Date = message is not null && message.Headers.Contains(HeaderId.Date) ? message.Date : null,
            RawSha256 = parsed.RawSha256,
            RawSize = parsed.RawSize,
        };
        return new ProcessedEmail(container, artifacts, attachments.Files, issues.ToList());
    }

    internal static string ContainerName(MimeMessage? message, uint uid)
    {
        var subject = message?.Headers.FirstOrDefault(h => h.Id == HeaderId.Subject);
        if (subject is not null)
        {
            var name = HeaderText.Unfold(HeaderText.Decoded(subject)).TrimStart(' ', '\t');
            if (!string.IsNullOrWhiteSpace(name))
            {
                return name;
            }
        }

        return $"Email ID: {uid}";
    }

    internal static string ContainerSdi(string folder, uint uid, bool fips) => $"{FolderHash(folder, fips)} : {uid}";

    private static string FolderHash(string folder, bool fips)
    {
        if (FolderHashes.TryGetValue((folder, fips), out var known))
        {
            return known;
        }

        var bytes = Encoding.UTF8.GetBytes(folder);
        var hash = fips ? Convert.ToHexStringLower(SHA256.HashData(bytes)) : Convert.ToHexStringLower(MD5.HashData(bytes));
        if (FolderHashes.Count < 1024)
        {
            FolderHashes.TryAdd((folder, fips), hash);
        }

        return hash;
    }
}
