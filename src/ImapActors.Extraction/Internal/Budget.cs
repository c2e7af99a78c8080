using System.Diagnostics;

namespace ImapActors.Extraction.Internal;

/// <summary>Thrown inside extraction when a limit is reached; caught by the extractor, never seen by callers.</summary>
internal sealed class LimitReachedException(string code, string detail) : Exception(detail)
{
    public string Code { get; } = code;
}

/// <summary>What one message may still cost, from the start of its parse: decoded bytes, scanned text and time.</summary>
internal sealed class Budget(long decodedBytes, long scannedText, TimeSpan maxTime)
{
    // A timestamp rather than a Stopwatch: the same clock, without an object per message.
    private long _started = Stopwatch.GetTimestamp();

    public Budget(ImapActors.Domain.ExtractionLimits limits)
        : this(limits.MaxDecodedBytes, limits.MaxScannedTextBytes, limits.MaxTime)
    {
        Limits = limits;
    }

    /// <summary>The limits this budget was made from, when it was made from a record of them.</summary>
    public ImapActors.Domain.ExtractionLimits? Limits { get; }

    /// <summary>A budget of <paramref name="limits"/> whose clock started when this one's did (the parse's).</summary>
    public Budget For(ImapActors.Domain.ExtractionLimits limits) =>
        Equals(limits, Limits) ? this : new Budget(limits) { _started = _started, ParseCutShort = ParseCutShort };

    public long DecodedBytesLeft { get; private set; } = decodedBytes;
    public long ScannedTextLeft { get; set; } = scannedText;
    public long MaxDecodedBytes { get; } = decodedBytes;

    public bool TimeUp => Stopwatch.GetElapsedTime(_started) > maxTime;

    public TimeSpan MaxTime => maxTime;

    /// <summary>Set when the parser was given end of input because the time was up (see <see cref="TimedStream"/>).</summary>
    public bool ParseCutShort { get; set; }

    public void Spend(int bytes)
    {
        DecodedBytesLeft -= bytes;
        if (DecodedBytesLeft < 0)
        {
            throw new LimitReachedException(Extraction.IssueCodes.DecodedBytesLimit,
                $"more than {MaxDecodedBytes} decoded bytes in one message");
        }
    }

    public void CheckTime()
    {
        if (TimeUp)
        {
            throw new LimitReachedException(Extraction.IssueCodes.TimeLimit, $"extraction took longer than {maxTime}");
        }
    }
}

/// <summary>
/// A read-only view of decoded part content that charges the budget as it is read and remembers the first bytes, so
/// the file type can be recognised without a second pass.
/// </summary>
internal sealed class MeteredStream(Stream inner, Budget budget) : ReadOnlyStream
{
    private readonly byte[] _head = new byte[16];

    public int HeadLength { get; private set; }

    public ReadOnlySpan<byte> Head => _head.AsSpan(0, HeadLength);

    public long BytesRead { get; private set; }

    // The array overload reads through the inner stream's array overload: MimeKit's streams implement only that one,
    // and Stream's span fallback would copy every read through a rented buffer.
    public override int Read(byte[] buffer, int offset, int count)
    {
        budget.CheckTime();
        return Counted(buffer.AsSpan(offset), inner.Read(buffer, offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        budget.CheckTime();
        return Counted(buffer, inner.Read(buffer));
    }

    /// <summary>Charges <paramref name="n"/> bytes just read into <paramref name="buffer"/> and keeps the first ones.</summary>
    private int Counted(ReadOnlySpan<byte> buffer, int n)
    {
        if (n > 0)
        {
            budget.Spend(n);
            if (HeadLength < _head.Length)
            {
                var take = Math.Min(n, _head.Length - HeadLength);
                buffer[..take].CopyTo(_head.AsSpan(HeadLength));
                HeadLength += take;
            }

            BytesRead += n;
        }

        return n;
    }

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// The parser's view of the message: once the time budget is spent, reads give end of input, so the parser finishes
/// with what it has read instead of running on; <see cref="Budget.ParseCutShort"/> records it.
/// </summary>
internal sealed class TimedStream(Stream inner, Budget budget) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (budget.TimeUp)
        {
            budget.ParseCutShort = true;
            return 0;
        }

        return inner.Read(buffer, offset, count);
    }

    public override int Read(Span<byte> buffer)
    {
        if (budget.TimeUp)
        {
            budget.ParseCutShort = true;
            return 0;
        }

        return inner.Read(buffer);
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
