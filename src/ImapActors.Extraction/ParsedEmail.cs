using ImapActors.Domain;
using MimeKit;

namespace ImapActors.Extraction;

/// <summary>
/// A message after stage 1 (MIME parse), ready for <see cref="EmailProcessor.Extract"/>. Content is read lazily from
/// the raw message's stream, which this object keeps open until disposed.
/// </summary>
public sealed class ParsedEmail : IDisposable
{
    private readonly Stream? _stream;

    internal ParsedEmail(EmailSource source, MimeMessage? message, Stream? stream, string rawSha256, long rawSize, IReadOnlyList<IngestionIssue> issues)
    {
        Source = source;
        Message = message;
        _stream = stream;
        RawSha256 = rawSha256;
        RawSize = rawSize;
        Issues = issues;
    }

    /// <summary>Where the message came from.</summary>
    public EmailSource Source { get; }

    /// <summary>The parsed message, or null when the bytes could not be parsed at all.</summary>
    public MimeMessage? Message { get; }

    /// <summary>Lowercase hex SHA-256 of the raw bytes.</summary>
    public string RawSha256 { get; }

    /// <summary>The raw message size in bytes.</summary>
    public long RawSize { get; }

    /// <summary>Problems met while parsing (empty when the parse went well).</summary>
    public IReadOnlyList<IngestionIssue> Issues { get; }

    public void Dispose()
    {
        _stream?.Dispose();
        Message?.Dispose();
    }
}
