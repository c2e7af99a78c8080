using System.Buffers;
using System.Buffers.Text;

namespace ImapActors.Extraction.Internal;

/// <summary>
/// Streaming base64 decoder for attachments that keeps a final incomplete group (2 or 3 characters give 1 or 2
/// bytes), as Python's email package does, where MimeKit's decoder drops it. Truncated attachments keep their last
/// bytes, and vault ids match the reference's for them. Characters outside the alphabet are skipped; <c>=</c> ends a
/// group, so concatenated base64 blocks decode correctly.
/// </summary>
/// <remarks>
/// Runs of alphabet characters (a line, typically) are decoded a whole number of groups at a time with the vectorised
/// <see cref="Base64.DecodeFromUtf8(ReadOnlySpan{byte}, Span{byte}, out int, out int, bool)"/>; only the characters of a
/// group that straddles a line break or a buffer boundary go through the scalar path. A caller's buffer large enough
/// for a whole input chunk is decoded into directly, without an intermediate copy. Buffers come from the shared pool.
/// </remarks>
internal sealed class Base64Stream(Stream encoded) : ReadOnlyStream
{
    private const int InputSize = 16384;

    /// <summary>Decoded bytes from one input chunk at most: 3 per 4 characters, plus a flushed partial group.</summary>
    private const int OutputSize = InputSize / 4 * 3 + 3;

    private static readonly SearchValues<byte> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"u8);

    private byte[]? _in = ArrayPool<byte>.Shared.Rent(InputSize);
    private byte[]? _out;
    private int _outPos;
    private int _outLen;
    private int _quad;
    private int _quadPos;
    private bool _done;
    private int _padAt = -1;
    private int _pads;
    private bool _irregular;

    private static readonly sbyte[] Map = BuildMap();

    private static sbyte[] BuildMap()
    {
        var map = new sbyte[256];
        Array.Fill(map, (sbyte)-1);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (var i = 0; i < alphabet.Length; i++)
        {
            map[alphabet[i]] = (sbyte)i;
        }

        map['='] = -2;
        return map;
    }

    /// <summary>
    /// True once the whole input has been read and it was plain base64: only alphabet characters and line breaks, the
    /// usual <c>=</c> padding at the end and nothing after it, no incomplete group. Any decoder gives the same bytes
    /// for such input (MimeKit's included), so they may stand in for MimeKit's decoding of the same content.
    /// </summary>
    public bool DecodedPlainInput => _done && !_irregular && (_padAt < 0 || _pads == 4 - _padAt);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_in is null, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_outPos == _outLen)
        {
            if (_done)
            {
                return 0;
            }

            if (buffer.Length >= OutputSize)
            {
                // Decode straight into the caller's buffer.
                var n = Fill(buffer);
                if (n > 0)
                {
                    return n;
                }

                continue;
            }

            _out ??= ArrayPool<byte>.Shared.Rent(OutputSize);
            _outPos = 0;
            _outLen = Fill(_out);
        }

        var take = Math.Min(buffer.Length, _outLen - _outPos);
        _out.AsSpan(_outPos, take).CopyTo(buffer);
        _outPos += take;
        return take;
    }

    /// <summary>Decodes the next input chunk into <paramref name="output"/> (at least <see cref="OutputSize"/> bytes).</summary>
    private int Fill(Span<byte> output)
    {
        var input = _in!;
        var read = encoded.Read(input, 0, InputSize);
        var written = 0;
        if (read == 0)
        {
            _irregular |= _quadPos != 0;
            Flush3(output, ref written);
            _done = true;
            return written;
        }

        var span = input.AsSpan(0, read);
        var i = 0;
        while (i < span.Length)
        {
            // Complete a group left open by a line break or the previous chunk, one character at a time.
            while (_quadPos != 0 && i < span.Length)
            {
                Scalar(span[i++], output, ref written);
            }

            if (i >= span.Length)
            {
                break;
            }

            var run = span[i..].IndexOfAnyExcept(Alphabet);
            var runLength = run < 0 ? span.Length - i : run;
            _irregular |= _padAt >= 0 && runLength > 0;
            var whole = runLength & ~3;
            if (whole > 0)
            {
                var status = Base64.DecodeFromUtf8(span.Slice(i, whole), output[written..], out var consumed, out var produced, isFinalBlock: false);
                if (status != System.Buffers.OperationStatus.Done || consumed != whole)
                {
                    // Not expected for alphabet-only input; the scalar path below decodes what is left.
                    whole = consumed;
                }

                written += produced;
                i += whole;
            }

            // The run's last 1-3 characters (or the rest after an unexpected stop), then the character that ended it.
            var runEnd = i + (runLength - whole);
            var stop = run < 0 ? span.Length : Math.Min(span.Length, runEnd + 1);
            while (i < stop)
            {
                Scalar(span[i++], output, ref written);
            }
        }

        return written;
    }

    private void Scalar(byte c, Span<byte> output, ref int written)
    {
        var v = Map[c];
        if (v == -1)
        {
            _irregular |= c is not ((byte)'\r' or (byte)'\n');
            return;
        }

        if (v == -2)
        {
            if (_padAt < 0)
            {
                _padAt = _quadPos;
            }

            _pads++;
            Flush3(output, ref written);
            return;
        }

        // Anything after padding is a second base64 block, which decoders join in different ways.
        _irregular |= _padAt >= 0;

        _quad = (_quad << 6) | (byte)v;
        if (++_quadPos == 4)
        {
            output[written++] = (byte)(_quad >> 16);
            output[written++] = (byte)(_quad >> 8);
            output[written++] = (byte)_quad;
            _quad = 0;
            _quadPos = 0;
        }
    }

    /// <summary>Emits what an incomplete group holds (2 characters: 1 byte, 3 characters: 2 bytes) and resets it.</summary>
    private void Flush3(Span<byte> output, ref int written)
    {
        if (_quadPos == 2)
        {
            output[written++] = (byte)(_quad >> 4);
        }
        else if (_quadPos == 3)
        {
            output[written++] = (byte)(_quad >> 10);
            output[written++] = (byte)(_quad >> 2);
        }

        _quad = 0;
        _quadPos = 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            encoded.Dispose();
            if (_in is not null)
            {
                ArrayPool<byte>.Shared.Return(_in);
                _in = null;
            }

            if (_out is not null)
            {
                ArrayPool<byte>.Shared.Return(_out);
                _out = null;
            }
        }

        base.Dispose(disposing);
    }
}
