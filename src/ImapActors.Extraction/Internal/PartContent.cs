using System.Buffers;
using MimeKit;

namespace ImapActors.Extraction.Internal;

/// <summary>Opening a part's content decoded, and reading it into a pooled buffer up to a cap.</summary>
internal static class PartContent
{
    /// <summary>The part's content decoded, by this library's base64 decoder when it applies, by MimeKit otherwise.</summary>
    public static Stream OpenDecoded(MimePart part) => OpenBase64(part) ?? Open(part);

    /// <summary>
    /// The part's content decoded by MimeKit; content in an encoding MimeKit does not decode (7bit, 8bit, binary or an
    /// unknown name, for which <see cref="MimeContent.Open"/> adds a pass-through filter) is read straight from its
    /// stream, which gives the same bytes without the filter's buffer and copy.
    /// </summary>
    public static Stream Open(MimePart part)
    {
        var content = part.Content!;
        if (content.Encoding is ContentEncoding.Base64 or ContentEncoding.QuotedPrintable or ContentEncoding.UUEncode ||
            content.Stream is not { CanSeek: true } raw)
        {
            return content.Open();
        }

        raw.Position = 0;
        return new MimeKit.IO.BoundStream(raw, 0, -1, leaveOpen: true);
    }

    /// <summary>This library's base64 decoder over the part's content, or null when it is not base64 or cannot seek.</summary>
    public static Base64Stream? OpenBase64(MimePart part)
    {
        var content = part.Content!;
        if (content.Encoding != ContentEncoding.Base64 || content.Stream is not { CanSeek: true } encoded)
        {
            return null;
        }

        encoded.Position = 0;
        return new Base64Stream(new MimeKit.IO.BoundStream(encoded, 0, -1, leaveOpen: true));
    }

    /// <summary>
    /// Reads 16 KiB at a time into one pooled buffer (returned to the caller, who gives it back to the pool), grown as
    /// needed; only the first <paramref name="cap"/> bytes are kept, and <paramref name="truncated"/> says there were more.
    /// </summary>
    public static byte[] ReadCapped(Stream content, long cap, out int length, out bool truncated)
    {
        const int chunk = 16384;
        var buffer = ArrayPool<byte>.Shared.Rent(chunk * 2);
        length = 0;
        truncated = false;
        try
        {
            while (true)
            {
                if (buffer.Length - length < chunk)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var n = content.Read(buffer, length, chunk);
                if (n <= 0)
                {
                    return buffer;
                }

                var take = (int)Math.Min(n, cap - length);
                length += take;
                if (take < n)
                {
                    truncated = true;
                    return buffer;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }
}
