using System.Text.Json.Nodes;
using ImapActors.Domain;
using MimeKit;

namespace ImapActors.Extraction.Internal;

/// <summary>A message's Email Artifacts: one per distinct header set that has a From, To or Message-ID field.</summary>
internal sealed class EmailArtifacts(MessageContext context)
{
    private const string ArtifactName = "Email Artifact";

    /// <summary>The artifacts made so far, in the order their header sets were met.</summary>
    public List<Artifact> Artifacts { get; } = [];

    /// <summary>
    /// An Email Artifact for a header set with From, To or Message-ID; emailId (always an int) when
    /// <paramref name="withEmailId"/>, and the leaves of <paramref name="body"/> when the settings ask for them.
    /// </summary>
    public void Add(List<(string Field, string Raw)> fields, bool withEmailId, MimeEntity? body)
    {
        var from = HeaderDictionary.Lookup(fields, "From");
        var to = HeaderDictionary.Lookup(fields, "To");
        if (from is null && to is null && HeaderDictionary.Lookup(fields, "Message-ID") is null)
        {
            return;
        }

        var cef = new JsonObject();
        if (!string.IsNullOrEmpty(from))
        {
            cef["fromEmail"] = from;
        }

        if (!string.IsNullOrEmpty(to))
        {
            cef["toEmail"] = to;
        }

        cef["emailHeaders"] = HeaderDictionary.Build(fields);
        if (context.Settings.AddBodyToHeaderArtifacts && body is not null)
        {
            AddBodyParts(cef, body);
        }

        var types = new JsonObject { ["fromEmail"] = new JsonArray("email"), ["toEmail"] = new JsonArray("email") };
        if (withEmailId)
        {
            cef["emailId"] = JsonValue.Create((long)context.Uid);
            types["emailId"] = new JsonArray("imap email id");
        }

        var artifact = context.MakeArtifact(ArtifactName, cef, types);
        if (context.AddSdi(artifact.SourceDataIdentifier) && context.TryCountArtifact())
        {
            Artifacts.Add(artifact);
        }
    }

    /// <summary>
    /// <c>bodyPart{i}</c> and <c>bodyPart{i}ContentType</c> for each leaf, breadth-first and numbered from 1, as the
    /// reference connector names them, so that playbooks written for it find the same keys.
    /// </summary>
    private void AddBodyParts(JsonObject cef, MimeEntity body)
    {
        var queue = new Queue<MimeEntity>();
        queue.Enqueue(body);
        var i = 0;
        while (queue.Count > 0 && i < context.Limits.MaxParts)
        {
            var entity = queue.Dequeue();
            switch (entity)
            {
                case Multipart mp:
                    foreach (var child in mp)
                    {
                        queue.Enqueue(child);
                    }

                    continue;
                case MessagePart { Message.Body: { } inner }:
                    queue.Enqueue(inner);
                    continue;
                case MimePart part:
                    i++;
                    var key = $"bodyPart{i}";
                    cef[key] = BodyPartText(part, cef);
                    var ct = part.Headers[HeaderId.ContentType];
                    cef[key + "ContentType"] = ct is null ? null : (JsonNode)ct.Trim();
                    break;
            }
        }
    }

    private string? BodyPartText(MimePart part, JsonObject cef)
    {
        if (part.Content is null)
        {
            return string.Empty;
        }

        using var content = new MeteredStream(PartContent.Open(part), context.Budget);
        var buffer = new MemoryStream();
        content.CopyTo(buffer);
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (HeaderText.TryUtf8(bytes, out var utf8))
        {
            return utf8;
        }

        if (part is TextPart)
        {
            return TextDecoding.Decode(bytes, part.ContentType.Charset);
        }

        cef["body_base64encoded"] = true;
        return Convert.ToBase64String(bytes);
    }
}
