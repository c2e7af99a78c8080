using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Testing;

/// <summary>Every output of the extraction over the corpus, as text to compare between two versions of the code.</summary>
internal static class Digest
{
    public static int Write(string corpus, TextWriter output)
    {
        var processor = new EmailProcessor(new HashOnlyVault());
        var source = new EmailSource(new AssetName("digest"), new FolderName("inbox"), 7, 1, null);
        var noIndicators = ExtractionSettings.Default with { ExtractUrls = false, ExtractDomains = false, ExtractIps = false, ExtractHashes = false };
        var settings = new (string Name, ExtractionSettings Settings)[]
        {
            ("default", ExtractionSettings.Default),
            ("fips+bodies", ExtractionSettings.Default with { Fips = true, AddBodyToHeaderArtifacts = true }),
            ("no-indicators", noIndicators),
            ("urls-only", noIndicators with { ExtractUrls = true }),
            ("domains-only", noIndicators with { ExtractDomains = true }),
            ("small-limits", ExtractionSettings.Default with
            {
                Limits = new ExtractionLimits { MaxArtifacts = 12, MaxScannedTextBytes = 3000, MaxDecodedBytes = 50000 },
            }),
        };
        var files = Directory.GetFiles(corpus, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        foreach (var (name, s) in settings)
        {
            foreach (var file in files)
            {
                using var raw = RawEmail.FromBytes(File.ReadAllBytes(file));
                var email = processor.Process(raw, source, s, "digest");
                output.WriteLine(name + "\t" + Path.GetRelativePath(corpus, file) + "\t" + Line(email));
            }
        }

        // As an IMAP server delivers them: bare LF as CRLF.
        foreach (var file in files)
        {
            using var raw = RawEmail.FromBytes(MessageBytes.ToCrlf(File.ReadAllBytes(file)));
            var email = processor.Process(raw, source, ExtractionSettings.Default, "digest");
            output.WriteLine("crlf\t" + Path.GetRelativePath(corpus, file) + "\t" + Line(email));
        }

        return 0;
    }

    private static string Line(ProcessedEmail email)
    {
        var c = email.Container;
        var artifacts = new JsonArray();
        foreach (var a in email.Artifacts)
        {
            artifacts.Add(new JsonObject
            {
                ["name"] = a.Name,
                ["cef"] = a.Cef.DeepClone(),
                ["cef_types"] = a.CefTypes?.DeepClone(),
                ["run_automation"] = a.RunAutomation,
                ["sdi"] = a.SourceDataIdentifier,
            });
        }

        var vault = new JsonArray();
        foreach (var f in email.VaultFiles)
        {
            vault.Add(new JsonObject { ["name"] = f.FileName, ["id"] = f.VaultId.Value, ["size"] = f.Size, ["sha256"] = f.Sha256, ["md5"] = f.Md5 });
        }

        var issues = new JsonArray();
        foreach (var i in email.Issues)
        {
            // Time-limit details would differ between runs; they do not occur under the default limits.
            issues.Add(i.Code + ": " + i.Detail);
        }

        return new JsonObject
        {
            ["container"] = new JsonObject
            {
                ["name"] = c.Name,
                ["sdi"] = c.SourceDataIdentifier,
                ["message_id"] = c.MessageId,
                ["date"] = c.Date?.ToString("O"),
                ["raw_sha256"] = c.RawSha256,
                ["raw_size"] = c.RawSize,
            },
            ["artifacts"] = artifacts,
            ["vault"] = vault,
            ["issues"] = issues,
        }.ToJsonString();
    }
}
