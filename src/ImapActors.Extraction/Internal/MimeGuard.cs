using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace ImapActors.Extraction.Internal;

/// <summary>What the MIME parser may be given of one message: the bounds <see cref="MimeGuard"/> enforces.</summary>
internal sealed record GuardLimits(int MaxHeaderFieldBytes, long MaxHeaderBytes, int MaxHeaderFields, int MaxParts, long MaxPreambleBytes)
{
    public static GuardLimits From(ImapActors.Domain.ExtractionLimits limits) => new(
        limits.MaxHeaderFieldBytes, limits.MaxHeaderBytes, limits.MaxHeaderFields, limits.MaxParts, limits.MaxPreambleBytes);
}

/// <summary>
/// One change to the bytes the parser sees: [Start, End) is left out and Insert written in its place; with EndLine, a
/// line the kept bytes leave open (a field cut mid-line) is ended first.
/// </summary>
internal readonly record struct GuardEdit(long Start, long End, byte[] Insert, bool EndLine);

/// <summary>What <see cref="MimeGuard.Scan"/> found: the edits that bound the message, and the issues they stand for.</summary>
internal sealed record GuardResult(IReadOnlyList<GuardEdit> Edits, IReadOnlyList<ImapActors.Domain.IngestionIssue> Issues)
{
    public bool Unchanged => Edits.Count == 0;
}

/// <summary>
/// One pass over a raw message, before the MIME parser sees it, that follows its structure as MimeKit's parser does
/// (header blocks, boundaries, preambles, epilogues, attached messages) and bounds what the parser would hold in memory
/// or spend time on: the size of each header field, the header bytes and fields in all, the number of entities, and
/// the preamble and epilogue bytes (which the parser keeps as strings). The pass costs one read of the bytes and holds
/// a few KiB; a message within every bound is parsed as it is, byte for byte, and otherwise a copy with the edits
/// applied is (<see cref="Apply"/>), while the stored raw message stays the original.
/// </summary>
/// <remarks>
/// Where this model and the parser could disagree (a boundary longer than <see cref="LineHead"/> bytes, nesting deeper
/// than <see cref="MaxDepth"/>), the guard errs on leaving bytes alone: it only ever cuts what is over a bound.
/// </remarks>
internal static class MimeGuard
{
    /// <summary>The bytes of each line kept for classifying it: boundaries and field names are shorter.</summary>
    private const int LineHead = 4096;

    /// <summary>The bytes of a Content-Type or Content-Transfer-Encoding field read for its media type and boundary.</summary>
    private const int FieldCapture = 8192;

    /// <summary>The parser's own nesting bound (EmailProcessor sets MaxMimeDepth to this); deeper parts are leaves.</summary>
    private const int MaxDepth = 256;

    private static readonly Regex BoundaryParameter = new(
        """(?:^|;)\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))""",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));

    private enum State
    {
        Headers,
        Content,
        Preamble,
        Epilogue,
    }

    public static GuardResult Scan(Stream raw, long start, GuardLimits limits)
    {
        raw.Position = start;
        var scan = new Scanner(limits);
        // Every message is scanned: a pooled buffer, not 64 KiB of garbage per email.
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            ScanLines(raw, start, scan, buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new GuardResult(scan.Edits, scan.Issues);
    }

    private static void ScanLines(Stream raw, long start, Scanner scan, byte[] buffer)
    {
        var head = new byte[LineHead];
        var offset = start;
        var lineStart = start;
        var lineLength = 0L;
        var headLength = 0;
        int n;
        while (!scan.Stopped && (n = raw.Read(buffer, 0, buffer.Length)) > 0)
        {
            var pos = 0;
            while (pos < n && !scan.Stopped)
            {
                var nl = Array.IndexOf(buffer, (byte)'\n', pos, n - pos);
                var end = nl < 0 ? n : nl + 1;
                var take = Math.Min(end - pos, LineHead - headLength);
                if (take > 0)
                {
                    Buffer.BlockCopy(buffer, pos, head, headLength, take);
                    headLength += take;
                }

                lineLength += end - pos;
                offset += end - pos;
                pos = end;
                if (nl >= 0)
                {
                    scan.Line(lineStart, lineLength, head.AsSpan(0, headLength));
                    lineStart = offset;
                    lineLength = 0;
                    headLength = 0;
                }
            }
        }

        if (!scan.Stopped && lineLength > 0)
        {
            scan.Line(lineStart, lineLength, head.AsSpan(0, headLength));
        }

        scan.End(offset);
    }

    /// <summary>
    /// The bytes of <paramref name="raw"/> from <paramref name="start"/> with <paramref name="edits"/> applied, in memory
    /// when small and in a temporary file (deleted when the stream is closed) otherwise.
    /// </summary>
    public static Stream Apply(Stream raw, long start, IReadOnlyList<GuardEdit> edits)
    {
        var kept = raw.Length - start - edits.Sum(e => Math.Min(e.End, raw.Length) - e.Start);
        Stream output = kept <= SpoolStream.InMemoryBytes
            ? new MemoryStream((int)Math.Max(0, kept) + 64)
            : SpoolStream.CreateFile();
        try
        {
            raw.Position = start;
            var buffer = new byte[1 << 16];
            var position = start;
            var last = (byte)'\n';
            foreach (var edit in edits)
            {
                last = Copy(raw, output, buffer, edit.Start - position, last);
                if (edit.EndLine && last != '\n')
                {
                    output.Write("\r\n"u8);
                }

                output.Write(edit.Insert);
                if (edit.Insert.Length > 0)
                {
                    last = edit.Insert[^1];
                }

                var end = Math.Min(edit.End, raw.Length);
                Skip(raw, buffer, end - edit.Start);
                position = end;
            }

            Copy(raw, output, buffer, long.MaxValue, last);
            output.Position = 0;
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private static byte Copy(Stream from, Stream to, byte[] buffer, long count, byte last)
    {
        while (count > 0)
        {
            var n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0)
            {
                break;
            }

            to.Write(buffer, 0, n);
            last = buffer[n - 1];
            count -= n;
        }

        return last;
    }

    private static void Skip(Stream from, byte[] buffer, long count)
    {
        if (from.CanSeek)
        {
            from.Position = Math.Min(from.Length, from.Position + count);
            return;
        }

        while (count > 0)
        {
            var n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0)
            {
                return;
            }

            count -= n;
        }
    }

    /// <summary>The structure followed line by line, and the edits decided so far.</summary>
    private sealed class Scanner(GuardLimits limits)
    {
        private readonly List<GuardEdit> _edits = [];
        private readonly List<ImapActors.Domain.IngestionIssue> _issues = [];
        private readonly HashSet<string> _codes = [];

        // The open multiparts, innermost last: their boundaries and depths. A multipart without a boundary has none.
        private readonly List<(byte[]? Boundary, int Depth, bool Digest)> _frames = [];

        private State _state = State.Headers;
        private int _depth;
        private bool _digestChild;
        private int _entities = 1;
        private long _headerBytes;
        private int _headerFields;
        private long _preambleBytes;

        // The header field being read: where it started, its length so far, and what of it is kept.
        private long _fieldStart = -1;
        private long _fieldLength;
        private bool _fieldCaptured;
        private readonly StringBuilder _capture = new();
        private string? _contentType;
        private string? _encoding;

        // A run of lines being left out: where it started (a header block's rest, or preamble/epilogue beyond the bound).
        private long _dropStart = -1;

        // An attached message's header block would be one entity too many: the bytes from the next line on are left out.
        private bool _truncateNext;

        public bool Stopped { get; private set; }

        public IReadOnlyList<GuardEdit> Edits => _edits;

        public IReadOnlyList<ImapActors.Domain.IngestionIssue> Issues => _issues;

        public void Line(long start, long length, ReadOnlySpan<byte> head)
        {
            if (_truncateNext)
            {
                Truncate(start);
                return;
            }

            var boundary = MatchBoundary(head, length, out var final);
            if (boundary >= 0)
            {
                EndRun(start);
                Boundary(start, boundary, final);
                return;
            }

            switch (_state)
            {
                case State.Headers:
                    HeaderLine(start, length, head);
                    break;
                case State.Preamble:
                case State.Epilogue:
                    _preambleBytes += length;
                    if (_preambleBytes > limits.MaxPreambleBytes && _dropStart < 0)
                    {
                        _dropStart = start;
                        Issue(IssueCodes.PreambleLimit, $"preambles and epilogues beyond {limits.MaxPreambleBytes} bytes were not read");
                    }

                    break;
            }
        }

        public void End(long offset)
        {
            if (_state == State.Headers)
            {
                EndField(offset);
            }

            EndRun(offset);
        }

        private void HeaderLine(long start, long length, ReadOnlySpan<byte> head)
        {
            if (IsEmpty(head, length))
            {
                EndField(start);
                EndRun(start);
                EndHeaders();
                return;
            }

            // As for the parser, a line that does not start a field (a folded line, or one without a field name and colon)
            // belongs to the field before it.
            var continuation = _fieldStart >= 0 && (head[0] is (byte)' ' or (byte)'\t' || !StartsField(head));
            if (!continuation)
            {
                EndField(start);
                if (_dropStart < 0)
                {
                    _headerFields++;
                    if (_headerFields > limits.MaxHeaderFields || _headerBytes >= limits.MaxHeaderBytes)
                    {
                        _dropStart = start;
                        Issue(IssueCodes.HeadersLimit,
                            $"header fields beyond {limits.MaxHeaderFields} fields or {limits.MaxHeaderBytes} bytes in all were not read");
                    }
                }

                if (_dropStart >= 0)
                {
                    return;
                }

                _fieldStart = start;
                _fieldLength = 0;
                _capture.Clear();
                _fieldCaptured = IsField(head, "content-type") || IsField(head, "content-transfer-encoding");
            }
            else if (_dropStart >= 0)
            {
                return;
            }

            _fieldLength += length;
            if (_fieldCaptured && _capture.Length < FieldCapture)
            {
                _capture.Append(Encoding.Latin1.GetString(head[..Math.Min(head.Length, FieldCapture - _capture.Length)]));
            }
        }

        /// <summary>The field being read ends at <paramref name="next"/>: cut if over its bound, counted, and read if it says what comes next.</summary>
        private void EndField(long next)
        {
            if (_fieldStart < 0)
            {
                return;
            }

            var kept = _fieldLength;
            if (_fieldLength > limits.MaxHeaderFieldBytes)
            {
                kept = limits.MaxHeaderFieldBytes;
                _edits.Add(new GuardEdit(_fieldStart + kept, next, [], EndLine: true));
                Issue(IssueCodes.HeaderFieldLimit, $"a header field longer than {limits.MaxHeaderFieldBytes} bytes was cut");
            }

            _headerBytes += kept;
            if (_fieldCaptured)
            {
                var text = _capture.ToString();
                var colon = text.IndexOf(':', StringComparison.Ordinal);
                var value = colon < 0 ? string.Empty : text[(colon + 1)..];
                if (text.StartsWith("content-type", StringComparison.OrdinalIgnoreCase))
                {
                    _contentType ??= value;
                }
                else
                {
                    _encoding ??= value;
                }
            }

            _fieldStart = -1;
        }

        /// <summary>A header block ended with a blank line: what its Content-Type makes of the lines after it.</summary>
        private void EndHeaders()
        {
            // The parts of a multipart/digest are messages unless they say otherwise.
            var (type, subtype, boundary) = _contentType is null && _digestChild ? ("message", "rfc822", null) : ParseContentType(_contentType);
            var encoded = IsEncoded(_encoding);
            _contentType = null;
            _encoding = null;
            _digestChild = false;
            if (type == "multipart" && _depth < MaxDepth)
            {
                _frames.Add((boundary is null ? null : Encoding.Latin1.GetBytes("--" + boundary), _depth, subtype == "digest"));
                _state = State.Preamble;
                return;
            }

            var attached = (type == "message" && subtype is "rfc822" or "global" or "news" or "external-body" or "rfc2822" or "global-headers") ||
                (type == "text" && subtype == "rfc822-headers");
            if (attached && !encoded && _depth < MaxDepth)
            {
                // The content is the header block of an attached message (or a bounce's copy of one).
                _depth++;
                _state = State.Headers;
                _truncateNext = !Entity();
                return;
            }

            _state = State.Content;
        }

        private void Boundary(long start, int frame, bool final)
        {
            if (_state == State.Headers)
            {
                EndField(start);
                _contentType = null;
                _encoding = null;
                _digestChild = false;
            }

            _frames.RemoveRange(frame + 1, _frames.Count - frame - 1);
            if (final)
            {
                _frames.RemoveAt(frame);
                _state = State.Epilogue;
                return;
            }

            _depth = _frames[frame].Depth + 1;
            _digestChild = _frames[frame].Digest;
            _state = State.Headers;
            if (!Entity())
            {
                // The delimiter that would start one entity too many.
                Truncate(start);
            }
        }

        /// <summary>Counts an entity; false when it is one too many.</summary>
        private bool Entity()
        {
            _entities++;
            if (_entities <= limits.MaxParts)
            {
                return true;
            }

            Issue(IssueCodes.PartLimit, $"more than {limits.MaxParts} MIME parts; the rest was not extracted");
            return false;
        }

        /// <summary>Everything from <paramref name="start"/> on is left out, and every open multipart closed there instead.</summary>
        private void Truncate(long start)
        {
            var closers = new StringBuilder();
            for (var i = _frames.Count - 1; i >= 0; i--)
            {
                if (_frames[i].Boundary is { } b)
                {
                    closers.Append(Encoding.Latin1.GetString(b)).Append("--\r\n");
                }
            }

            _edits.Add(new GuardEdit(start, long.MaxValue, Encoding.Latin1.GetBytes(closers.ToString()), EndLine: false));
            Stopped = true;
        }

        /// <summary>Ends a run of left-out lines at <paramref name="end"/>.</summary>
        private void EndRun(long end)
        {
            if (_dropStart >= 0)
            {
                if (end > _dropStart)
                {
                    _edits.Add(new GuardEdit(_dropStart, end, [], EndLine: false));
                }

                _dropStart = -1;
            }
        }

        /// <summary>The index of the open multipart whose delimiter this line is (innermost first), or -1.</summary>
        private int MatchBoundary(ReadOnlySpan<byte> head, long length, out bool final)
        {
            final = false;
            if (_frames.Count == 0 || head.Length < 2 || head[0] != '-' || head[1] != '-' || length > head.Length)
            {
                return -1;
            }

            var text = head;
            while (text.Length > 0 && text[^1] is (byte)'\n' or (byte)'\r' or (byte)' ' or (byte)'\t')
            {
                text = text[..^1];
            }

            for (var i = _frames.Count - 1; i >= 0; i--)
            {
                if (_frames[i].Boundary is not { } b || !text.StartsWith(b))
                {
                    continue;
                }

                if (text.Length == b.Length)
                {
                    return i;
                }

                if (text.Length == b.Length + 2 && text[^2] == '-' && text[^1] == '-')
                {
                    final = true;
                    return i;
                }
            }

            return -1;
        }

        private void Issue(string code, string detail)
        {
            if (_codes.Add(code))
            {
                _issues.Add(new ImapActors.Domain.IngestionIssue(code, detail));
            }
        }
    }

    private static bool IsEmpty(ReadOnlySpan<byte> head, long length) =>
        (length == 1 && head[0] == '\n') || (length == 2 && head[0] == '\r' && head[1] == '\n');

    /// <summary>Whether the line starts with a field name (no blank or control character) and a colon, as the parser reads one.</summary>
    private static bool StartsField(ReadOnlySpan<byte> head)
    {
        var i = 0;
        while (i < head.Length && head[i] != ':' && head[i] > 32 && head[i] != 127)
        {
            i++;
        }

        var name = i;
        while (i < head.Length && head[i] is (byte)' ' or (byte)'\t')
        {
            i++;
        }

        return name > 0 && i < head.Length && head[i] == ':';
    }

    private static bool IsField(ReadOnlySpan<byte> head, string name)
    {
        if (head.Length <= name.Length || !Encoding.ASCII.GetString(head[..name.Length]).Equals(name, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = head[name.Length..];
        var i = 0;
        while (i < rest.Length && rest[i] is (byte)' ' or (byte)'\t')
        {
            i++;
        }

        return i < rest.Length && rest[i] == ':';
    }

    /// <summary>Media type, subtype (lower case) and boundary of a Content-Type value; the default when there is none.</summary>
    internal static (string Type, string Subtype, string? Boundary) ParseContentType(string? value)
    {
        if (value is null)
        {
            return ("text", "plain", null);
        }

        // As the parser reads it: a type token, '/', a subtype token (anything after them up to ';' is ignored); a line
        // break is a blank. A value without both tokens is text/plain.
        var text = value.Replace('\r', ' ').Replace('\n', ' ');
        var i = 0;
        var type = Token(text, ref i);
        SkipBlanks(text, ref i);
        if (type.Length == 0 || i >= text.Length || text[i] != '/')
        {
            return ("text", "plain", null);
        }

        i++;
        SkipBlanks(text, ref i);
        var subtype = Token(text, ref i);
        if (subtype.Length == 0)
        {
            return ("text", "plain", null);
        }

        type = type.ToLowerInvariant();
        subtype = subtype.ToLowerInvariant();
        string? boundary = null;
        var semicolon = text.IndexOf(';', i);
        if (type == "multipart" && semicolon >= 0)
        {
            var match = BoundaryParameter.Match(text, semicolon);
            if (match.Success)
            {
                boundary = match.Groups[1].Success ? Unquote(match.Groups[1].Value) : match.Groups[2].Value;
            }
        }

        return (type, subtype, boundary);
    }

    private static void SkipBlanks(string text, ref int i)
    {
        while (i < text.Length && text[i] is ' ' or '\t')
        {
            i++;
        }
    }

    /// <summary>An RFC 2045 token from <paramref name="i"/> (after blanks): printable ASCII but no tspecial.</summary>
    private static string Token(string text, ref int i)
    {
        SkipBlanks(text, ref i);
        var start = i;
        while (i < text.Length && text[i] is > ' ' and < (char)127 && !"()<>@,;:\\\"/[]?=".Contains(text[i], StringComparison.Ordinal))
        {
            i++;
        }

        return text[start..i];
    }

    /// <summary>A quoted string's content: each backslash quotes the character after it.</summary>
    private static string Unquote(string quoted)
    {
        if (!quoted.Contains('\\', StringComparison.Ordinal))
        {
            return quoted;
        }

        var sb = new StringBuilder(quoted.Length);
        for (var i = 0; i < quoted.Length; i++)
        {
            if (quoted[i] == '\\' && i + 1 < quoted.Length)
            {
                i++;
            }

            sb.Append(quoted[i]);
        }

        return sb.ToString();
    }

    private static bool IsEncoded(string? value)
    {
        var v = value?.Trim().ToLowerInvariant();
        return v is not (null or "" or "7bit" or "8bit" or "binary");
    }
}
