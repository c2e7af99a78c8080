using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;
using MimeKit;

namespace ImapActors.Extraction;

/// <summary>The data of the "get email" action: a message's top-level headers.</summary>
public static class EmailHeaders
{
    /// <summary>
    /// Every top-level header in order, encoded words decoded and folding kept; a later header with the same name
    /// replaces the earlier value (so only the last <c>Received</c> remains), as the reference's "get email" returns them.
    /// </summary>
    public static JsonObject TopLevel(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return TopLevel(message.Headers);
    }

    /// <summary>The same for raw message bytes: only the header block is parsed. Never throws for bad input.</summary>
    public static JsonObject TopLevel(RawEmail raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        try
        {
            using var stream = raw.OpenRead();
            var parser = new MimeParser(stream, MimeFormat.Entity);
            return TopLevel(parser.ParseHeaders());
        }
        catch (FormatException)
        {
            return [];
        }
    }

    private static JsonObject TopLevel(HeaderList headers)
    {
        var result = new JsonObject();
        foreach (var header in headers)
        {
            result[header.Field] = HeaderText.Decoded(header);
        }

        return result;
    }
}
