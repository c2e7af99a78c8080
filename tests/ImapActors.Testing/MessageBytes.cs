namespace ImapActors.Testing;

/// <summary>Message bytes as an IMAP server delivers them.</summary>
public static class MessageBytes
{
    /// <summary>Bare LF becomes CRLF, as an IMAP server delivers messages (and as the reference's input was).</summary>
    public static byte[] ToCrlf(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var output = new MemoryStream(bytes.Length + bytes.Length / 40);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r'))
            {
                output.WriteByte((byte)'\r');
            }

            output.WriteByte(bytes[i]);
        }

        return output.ToArray();
    }
}
