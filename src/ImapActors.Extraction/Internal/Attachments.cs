using System.Text.Json.Nodes;
using ImapActors.Domain;
using MimeKit;
using MimeKit.Tnef;

namespace ImapActors.Extraction.Internal;

/// <summary>A message's attachments: each stored in the vault and described by a Vault Artifact, TNEF parts unpacked.</summary>
internal sealed class Attachments(MessageContext context, IVault vault)
{
    private const string ArtifactName = "Vault Artifact";

    /// <summary>The Vault Artifacts made so far, in the order their parts were met.</summary>
    public List<Artifact> Artifacts { get; } = [];

    /// <summary>The stored file of each Vault Artifact, in the same order.</summary>
    public List<VaultFile> Files { get; } = [];

    /// <summary>Whether an attachment was not stored: a limit was reached while reading it, or it could not be decoded.</summary>
    public bool AnyFailed { get; private set; }

    /// <summary>Stores the part (index <paramref name="index"/> in walk order) and, for TNEF, the files inside it.</summary>
    public void Add(MimePart part, int index)
    {
        if (!context.Settings.ExtractAttachments)
        {
            return;
        }

        if (part is not TnefPart tnef)
        {
            Store(part, FileRules.OriginalName(part, index));
            return;
        }

        var limit = context.Limits.MaxBufferedPartBytes;
        if (DecodedSizeAtLeast(tnef) > limit)
        {
            // The TNEF reader holds its attributes in memory: past the limit the file is stored, not unpacked.
            Store(part, FileRules.OriginalName(part, index));
            context.AddIssue(IssueCodes.BufferedPartLimit, $"a TNEF part larger than {limit} bytes was stored but not unpacked");
            return;
        }

        // The TNEF content is decoded once, for the vault and for the TNEF reader, when that gives the reader the bytes
        // MimeKit's own decoding would; otherwise the reader decodes the part itself, as MimeKit does.
        using var decoded = DecodeWhole(tnef);
        Store(part, FileRules.OriginalName(part, index), decoded);
        IEnumerable<MimeEntity> inside;
        try
        {
            if (decoded is null)
            {
                inside = tnef.ExtractAttachments().ToList();
            }
            else
            {
                using var copy = new TnefPart { Content = new MimeContent(decoded.View()) };
                if (!string.IsNullOrEmpty(tnef.ContentType.Charset))
                {
                    copy.ContentType.Charset = tnef.ContentType.Charset;
                }

                inside = copy.ExtractAttachments().ToList();
            }
        }
        catch (Exception e) when (!Failures.IsStorage(e))
        {
            context.AddIssue(IssueCodes.PartFailed, $"TNEF part {index} could not be unpacked: {e.Message}");
            return;
        }

        var k = 0;
        foreach (var entity in inside)
        {
            k++;
            if (entity is MimePart inner && !(inner is TextPart && inner.FileName is null))
            {
                Store(inner, FileRules.OriginalName(inner, index) is var n && n.StartsWith("part_", StringComparison.Ordinal) ? $"winmail-{k}{Path.GetExtension(n)}" : n);
            }
        }
    }

    /// <summary>A lower bound of the part's decoded size, from its encoded size (base64 decodes to 3/4 of it at least, less line breaks).</summary>
    private static long DecodedSizeAtLeast(MimePart part)
    {
        if (part.Content?.Stream is not { CanSeek: true } encoded)
        {
            return 0;
        }

        return part.ContentTransferEncoding switch
        {
            ContentEncoding.Base64 => encoded.Length / 78 * 57,
            ContentEncoding.QuotedPrintable or ContentEncoding.UUEncode => encoded.Length / 3,
            _ => encoded.Length,
        };
    }

    /// <summary>
    /// The part's content decoded whole, or null when it could not be, or when it was base64 that is not plain
    /// (junk, an incomplete group, a second block): there this library's decoder and MimeKit's may differ.
    /// </summary>
    private static DecodedContent? DecodeWhole(MimePart part)
    {
        if (part.Content is null)
        {
            return null;
        }

        try
        {
            using var stream = PartContent.OpenDecoded(part);
            var expected = part.Content.Stream is { CanSeek: true } encoded ? encoded.Length / 4 * 3 + 3 : 0;
            var buffer = new MemoryStream((int)Math.Min(expected, Array.MaxLength));
            stream.CopyTo(buffer);
            return stream is Base64Stream { DecodedPlainInput: false } ? null : new DecodedContent(buffer);
        }
        catch (Exception e) when (e is not LimitReachedException && !Failures.IsStorage(e))
        {
            return null;
        }
    }

    /// <summary>Decoded content held in memory; each <see cref="View"/> is an independent read-only stream over it.</summary>
    private sealed class DecodedContent(MemoryStream buffer) : IDisposable
    {
        public MemoryStream View() => new MemoryStream(buffer.GetBuffer(), 0, (int)buffer.Length, writable: false);

        public void Dispose() => buffer.Dispose();
    }

    private void Store(MimePart part, string originalName, DecodedContent? decoded = null)
    {
        if (part.Content is null)
        {
            return;
        }

        var name = FileRules.SafeName(originalName, Artifacts.Count + 1);
        VaultFile file;
        MeteredStream content;
        try
        {
            using (content = new MeteredStream(decoded?.View() ?? PartContent.OpenDecoded(part), context.Budget))
            {
                file = vault.Store(content, name);
            }
        }
        catch (LimitReachedException e)
        {
            AnyFailed = true;
            context.AddIssue(e.Code, $"{e.Message}; attachment \"{name}\" was not stored");
            if (e.Code == IssueCodes.TimeLimit)
            {
                throw;
            }

            return;
        }
        catch (Exception e) when (!Failures.IsStorage(e))
        {
            AnyFailed = true;
            context.AddIssue(IssueCodes.AttachmentFailed, $"attachment \"{name}\" could not be stored: {e.Message}");
            return;
        }

        if (file.Size == 0)
        {
            return;
        }

        var contains = FileRules.Contains(name, content.Head);
        var cef = new JsonObject
        {
            ["headers"] = HeaderDictionary.Build(HeaderDictionary.Fields(part.Headers)),
            ["fileName"] = name,
            ["vaultId"] = file.VaultId.Value,
            ["cs6"] = file.VaultId.Value,
            ["cs6Label"] = "Vault ID",
            ["fileHashSha256"] = file.Sha256,
            ["fileHashMd5"] = file.Md5,
            ["fileHashSha1"] = file.VaultId.Value,
        };
        if (!string.Equals(name, originalName, StringComparison.Ordinal))
        {
            cef["originalFileName"] = originalName;
        }

        if (FileRules.HasSpoofingCharacter(originalName))
        {
            context.AddIssue(IssueCodes.FileNameSpoofing,
                $"attachment \"{name}\": bidirectional-control or line-separator characters in its file name were replaced by _; originalFileName keeps the name as sent");
        }

        JsonObject? types = null;
        if (contains.Count > 0)
        {
            types = new JsonObject
            {
                ["vaultId"] = new JsonArray(contains.Select(c => (JsonNode?)c).ToArray()),
                ["cs6"] = new JsonArray(contains.Select(c => (JsonNode?)c).ToArray()),
            };
        }

        var artifact = context.MakeArtifact(ArtifactName, cef, types);
        if (context.AddSdi(artifact.SourceDataIdentifier) && context.TryCountArtifact())
        {
            Artifacts.Add(artifact);
            Files.Add(file);
        }
    }
}
