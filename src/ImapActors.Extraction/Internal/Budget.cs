using System.Diagnostics;

namespace ImapActors.Extraction.Internal;

/// <summary>Thrown inside extraction when a limit is reached; caught by the extractor, never seen by callers.</summary>
internal sealed class LimitReachedException(string code, string detail) : Exception(detail)
{
    public string Code { get; } = code;
}

/// <summary>What one message may still cost: decoded bytes, scanned text and time.</summary>
internal sealed class Budget(long decodedBytes, long scannedText, TimeSpan maxTime)
{
    // A timestamp rather than a Stopwatch: the same clock, without an object per message.
    private readonly long _started = Stopwatch.GetTimestamp();

    public long DecodedBytesLeft { get; private set; } = decodedBytes;
    public long ScannedTextLeft { get; set; } = scannedText;
    public long MaxDecodedBytes { get; } = decodedBytes;

    public bool TimeUp => Stopwatch.GetElapsedTime(_started) > maxTime;

    public TimeSpan MaxTime => maxTime;

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
