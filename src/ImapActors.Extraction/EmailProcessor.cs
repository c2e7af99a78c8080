using System.Security.Cryptography;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;
using MimeKit;
using MimeKit.IO;

namespace ImapActors.Extraction;

/// <summary>
/// Turns raw email bytes into a SOAR container, its artifacts and its vault files, with the data model of the
/// Splunk SOAR IMAP app (see docs/compatibility.md for every deliberate difference).
/// </summary>
/// <remarks>
/// No method throws for any message content: a message that cannot be parsed, or that hits a limit of
/// <see cref="ExtractionLimits"/>, still gives a container with what was extracted, an <c>Email Ingestion Status</c>
/// artifact (cef <c>ingestionStatus</c>, <c>ingestionIssues</c>, and <c>attachmentIngestionStatus</c> when an
/// attachment was lost) and the problems in <see cref="ProcessedEmail.Issues"/>. The one exception that escapes is
/// <see cref="IOException"/> from the vault or from reading the raw message: a storage failure the caller may retry.
/// An instance is stateless apart from its vault and may be used from several threads.
/// </remarks>
public sealed class EmailProcessor
{
    private readonly IVault _vault;

    /// <summary>Creates a processor that stores attachments in <paramref name="vault"/>.</summary>
    public EmailProcessor(IVault vault)
    {
        ArgumentNullException.ThrowIfNull(vault);
        _vault = vault;
    }

    /// <summary>Stage 1 with the default <see cref="ExtractionLimits"/>.</summary>
    /// <exception cref="IOException">The raw message could not be read.</exception>
    public ParsedEmail Parse(RawEmail raw, EmailSource source) => Parse(raw, source, ExtractionSettings.Default.Limits);

    /// <summary>
    /// Stage 1: parses the MIME structure. Content is not copied: parts are read from the raw message when stage 2 needs
    /// them, so a file-backed message is never loaded whole. What the parser would hold or spend beyond
    /// <paramref name="limits"/> (header sizes, entities, preambles) is cut from what it is given, and the time limit
    /// counts from here. Dispose the result when done.
    /// </summary>
    /// <exception cref="IOException">The raw message could not be read.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Part of the instance API the pipeline calls.")]
    public ParsedEmail Parse(RawEmail raw, EmailSource source, ExtractionLimits limits)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(limits);
        var budget = new Budget(limits);
        string sha256;
        if (raw.IsFileBacked)
        {
            using var hashStream = raw.OpenRead();
            sha256 = Convert.ToHexStringLower(SHA256.HashData(hashStream));
        }
        else
        {
            // In memory: hashed where the bytes are, without copying them through a stream.
            sha256 = Convert.ToHexStringLower(SHA256.HashData(raw.ToArray()));
        }

        var stream = raw.OpenRead();
        Stream? input = null;
        try
        {
            var guard = GuardLimits.From(limits);
            (input, var message, var issues) = GuardedParse(stream, 0, guard, budget);
            if (message is null)
            {
                // Python's parser (and so the reference) drops leading lines that start with a blank; MimeKit rejects them.
                var start = SkipLeadingBlankLines(stream);
                if (start > 0)
                {
                    Release(input, stream);
                    (input, message, issues) = GuardedParse(stream, start, guard, budget);
                }
            }

            if (message is not null)
            {
                IDisposable owned = input == stream ? stream : new Owned(input!, stream);
                return new ParsedEmail(source, message, owned, sha256, raw.Length, issues, budget);
            }

            Release(input, stream);
            stream.Dispose();
            var issue = new IngestionIssue(IssueCodes.ParseFailed, "the message could not be parsed: no header block was found");
            return new ParsedEmail(source, null, null, sha256, raw.Length, [issue], budget);
        }
        catch
        {
            Release(input, stream);
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The guarded copy the parts are read from, and the raw stream under it.</summary>
    private sealed class Owned(Stream input, Stream raw) : IDisposable
    {
        public void Dispose()
        {
            input.Dispose();
            raw.Dispose();
        }
    }

    private static void Release(Stream? input, Stream raw)
    {
        if (input is not null && input != raw)
        {
            input.Dispose();
        }
    }

    /// <summary>
    /// The guard's pass over the bytes from <paramref name="start"/>, then the parse of what it leaves (the raw stream
    /// itself when it leaves everything), read through the time budget.
    /// </summary>
    internal static (Stream Input, MimeMessage? Message, IReadOnlyList<IngestionIssue> Issues) GuardedParse(
        Stream raw, long start, GuardLimits limits, Budget budget)
    {
        var guard = MimeGuard.Scan(raw, start, limits);
        Stream input;
        long offset;
        if (guard.Unchanged)
        {
            input = raw;
            offset = start;
        }
        else
        {
            input = MimeGuard.Apply(raw, start, guard.Edits);
            offset = 0;
        }

        var message = TryParse(new TimedStream(input, budget), offset);
        return (input, message, guard.Issues);
    }
    private static MimeMessage? TryParse(Stream stream, long start)
    {
        MimeParser? reused = null;
        try
        {
            stream.Position = 0;
            Stream input = start == 0 ? stream : new BoundStream(stream, start, -1, leaveOpen: true);
            input.Position = 0;

            // Persistent parsing keeps part content as ranges of the stream instead of copies.
            if (stream.Length - start > ReusedParserMaxSize)
            {
                return new MimeParser(ParserOptions, input, MimeFormat.Entity, persistent: true).ParseMessage();
            }

            reused = t_parser ?? new MimeParser(ParserOptions, Stream.Null, MimeFormat.Entity);
            t_parser = null;
            reused.SetStream(input, MimeFormat.Entity, persistent: true);
            return reused.ParseMessage();
        }
        catch (Exception e) when (!Failures.IsStorage(e))
        {
            return null;
        }
        finally
        {
            if (reused is not null)
            {
                // Detached from the message, so that the thread does not keep its stream (and bytes) alive.
                reused.SetStream(Stream.Null, MimeFormat.Entity);
                t_parser = reused;
            }
        }
    }

    /// <summary>
    /// The thread's parser for messages of at most <see cref="ReusedParserMaxSize"/> bytes: a new parser allocates about
    /// 5 KB of buffers, a tenth of all that processing a 5 KB message allocates. SetStream resets the parser and keeps its
    /// options (<see cref="ParserOptions"/>). Larger messages get a parser of their own, so that a buffer grown for one
    /// (a long header) does not stay with the thread.
    /// </summary>
    [ThreadStatic]
    private static MimeParser? t_parser;

    private const long ReusedParserMaxSize = 64 * 1024;

    /// <summary>The offset after any leading lines that are empty or start with a blank (at most 64 KiB are looked at).</summary>
    private static long SkipLeadingBlankLines(Stream stream)
    {
        stream.Position = 0;
        var buffer = new byte[65536];
        var n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        var pos = 0;
        while (pos < n && buffer[pos] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            var nl = Array.IndexOf(buffer, (byte)'\n', pos, n - pos);
            if (nl < 0)
            {
                return 0;
            }

            pos = nl + 1;
        }

        return pos;
    }

    /// <summary>Stage 2: walks the parsed message, stores its attachments and builds the container and artifacts.</summary>
    /// <remarks>The time limit counts from the parse: <paramref name="settings"/>' other limits apply here.</remarks>
    /// <exception cref="IOException">The vault could not store an attachment, or the raw message could not be read.</exception>
    public ProcessedEmail Extract(ParsedEmail parsed, ExtractionSettings settings, string label)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(settings);
        return new Extractor(_vault, parsed, settings).Run(label ?? string.Empty);
    }

    /// <summary><see cref="Parse(RawEmail, EmailSource, ExtractionLimits)"/> with the settings' limits, then <see cref="Extract"/>.</summary>
    /// <exception cref="IOException">The vault or the raw message could not be read or written.</exception>
    public ProcessedEmail Process(RawEmail raw, EmailSource source, ExtractionSettings settings, string label)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var parsed = Parse(raw, source, settings.Limits);
        return Extract(parsed, settings, label);
    }

    private static readonly ParserOptions ParserOptions = CreateParserOptions();

    private static ParserOptions CreateParserOptions()
    {
        // Legacy charsets (ISO-2022-JP, GB2312, EUC-KR, KOI8-R, windows-125x...) and UTF-7 for bodies and encoded words.
        // This must happen before MimeKit's first charset lookup, which caches what it finds.
        TextDecoding.RegisterProviders();
        var options = ParserOptions.Default.Clone();

        // Deeper nesting than this is parsed as opaque content, so the parser's own recursion stays bounded.
        options.MaxMimeDepth = 256;
        return options;
    }
}
