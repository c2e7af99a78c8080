using ImapActors.Domain;
using MimeKit;

namespace ImapActors.Extraction;

/// <summary>
/// A message after stage 1 (MIME parse), ready for <see cref="EmailProcessor.Extract"/>. Content is read lazily from
/// the raw message's stream, which this object keeps open until disposed.
/// </summary>
public sealed class ParsedEmail : IDisposable
{
    private readonly IDisposable? _content;

    internal ParsedEmail(EmailSource source, MimeMessage? message, IDisposable? content, string rawSha256, long rawSize,
        IReadOnlyList<IngestionIssue> issues, Internal.Budget budget)
    {
        Source = source;
        Message = message;
        _content = content;
        Budget = budget;
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

    /// <summary>What the message may still cost, counted from the start of its parse.</summary>
    internal Internal.Budget Budget { get; }

    public void Dispose()
    {
        _content?.Dispose();
        Message?.Dispose();
    }
}
