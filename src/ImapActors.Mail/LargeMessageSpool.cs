using ImapActors.Domain;
using MailKit;
using MailKit.Net.Imap;

namespace ImapActors.Mail;

/// <summary>Streams one large message in 1 MiB partial fetches to a temporary file and hands it back file-backed.</summary>
internal static class LargeMessageSpool
{
    private const int ChunkBytes = 1024 * 1024;

    /// <summary>The message as a file in <paramref name="tempDirectory"/> (deleted with its <see cref="RawEmail"/>), or null when it was expunged meanwhile.</summary>
    public static Task<FetchedEmail?> FetchAsync(ImapFolder folder, IMessageSummary summary, string tempDirectory, ImapFailureMapper errors, CancellationToken ct)
    {
        Directory.CreateDirectory(tempDirectory);
        var uid = summary.UniqueId;
        var path = Path.Combine(tempDirectory, $"imap-{uid.Id}-{Guid.NewGuid():N}.eml");
        return errors.RunAsync<FetchedEmail?>(async () =>
        {
            var complete = false;
            try
            {
                await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                {
                    for (var offset = 0; ; offset += ChunkBytes)
                    {
                        int read;
                        try
                        {
                            using var chunk = await folder.GetStreamAsync(uid, string.Empty, offset, ChunkBytes, ct).ConfigureAwait(false);
                            var before = file.Length;
                            await chunk.CopyToAsync(file, ct).ConfigureAwait(false);
                            read = (int)(file.Length - before);
                        }
                        catch (MessageNotFoundException)
                        {
                            // Expunged since the size fetch: absent, like any UID that no longer exists.
                            return null;
                        }

                        if (read < ChunkBytes)
                        {
                            break;
                        }
                    }
                }

                complete = true;
                return new FetchedEmail(uid.Id, summary.InternalDate, (long)(summary.Size ?? 0), RawEmail.FromFile(path, deleteOnDispose: true));
            }
            finally
            {
                if (!complete)
                {
                    TryDelete(path);
                }
            }
        }, "fetching a large message", ct);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A partial temporary file left behind costs disk space only.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
