namespace ImapActors.Extraction.Internal;

/// <summary>Which exceptions are the storage's (the caller retries them) and which the content's (an issue of the message).</summary>
internal static class Failures
{
    /// <summary>
    /// An <see cref="IOException"/> from the vault or the raw message; not <see cref="EndOfStreamException"/>, which
    /// MimeKit's readers (TNEF, for one) throw for content that ends too soon.
    /// </summary>
    public static bool IsStorage(Exception e) => e is IOException and not EndOfStreamException;
}
