namespace ImapActors.Extraction.Internal;

/// <summary>
/// Streaming base64 decoder for attachments that keeps a final incomplete group (2 or 3 characters give 1 or 2
/// bytes), as Python's email package does, where MimeKit's decoder drops it. Truncated attachments keep their last
/// bytes, and vault ids match the reference's for them. Characters outside the alphabet are skipped; <c>=</c> ends a
/// group, so concatenated base64 blocks decode correctly.
/// </summary>
internal sealed class Base64Stream(Stream encoded) : Stream
{
    private readonly byte[] _in = new byte[16384];
    private readonly byte[] _out = new byte[12288 + 3];
    private int _outPos;
    private int _outLen;
    private int _quad;
    private int _quadPos;
    private bool _done;

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

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_outPos == _outLen)
        {
            if (_done)
            {
                return 0;
            }

            Fill();
        }

        var n = Math.Min(buffer.Length, _outLen - _outPos);
        _out.AsSpan(_outPos, n).CopyTo(buffer);
        _outPos += n;
        return n;
    }

    private void Fill()
    {
        _outPos = 0;
        _outLen = 0;
        var read = encoded.Read(_in, 0, _in.Length);
        if (read == 0)
        {
            Flush3();
            _done = true;
            return;
        }

        for (var i = 0; i < read; i++)
        {
            var v = Map[_in[i]];
            if (v == -1)
            {
                continue;
            }

            if (v == -2)
            {
                Flush3();
                continue;
            }

            _quad = (_quad << 6) | (byte)v;
            if (++_quadPos == 4)
            {
                _out[_outLen++] = (byte)(_quad >> 16);
                _out[_outLen++] = (byte)(_quad >> 8);
                _out[_outLen++] = (byte)_quad;
                _quad = 0;
                _quadPos = 0;
            }
        }
    }

    /// <summary>Emits what an incomplete group holds (2 characters: 1 byte, 3 characters: 2 bytes) and resets it.</summary>
    private void Flush3()
    {
        if (_quadPos == 2)
        {
            _out[_outLen++] = (byte)(_quad >> 4);
        }
        else if (_quadPos == 3)
        {
            _out[_outLen++] = (byte)(_quad >> 10);
            _out[_outLen++] = (byte)(_quad >> 2);
        }

        _quad = 0;
        _quadPos = 0;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            encoded.Dispose();
        }

        base.Dispose(disposing);
    }
}
