using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;

/// <summary>
/// The IMAP fetch ceiling: every body of every given mailbox fetched with MailKit over implicit TLS, one connection per
/// mailbox, all connections at once, <c>UID FETCH (BODY.PEEK[])</c> in batches, and nothing done with the bytes but
/// counting them. It is what the engine's fetch stage could reach with no parse, extract or store behind it.
/// </summary>
internal static class Ceiling
{
    /// <summary>
    /// <c>ceiling HOST PORT CA_FILE BATCH MAILBOX_FILE</c>: MAILBOX_FILE has one <c>user folder</c> line per mailbox; the
    /// password of every user is in the <c>BENCH_IMAP_PASSWORD</c> environment variable. Prints one line:
    /// <c>ceiling mailboxes=N messages=N bytes=N seconds=S first_fetch=T</c>, T the Unix time in seconds at which the first
    /// <c>UID FETCH</c> of the run was sent (after its connection's login, SELECT and SEARCH).
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 6)
        {
            Console.Error.WriteLine("usage: ImapActors.Benchmarks ceiling HOST PORT CA_FILE BATCH MAILBOX_FILE");
            return 2;
        }

        var host = args[1];
        var port = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        var ca = X509CertificateLoader.LoadCertificateFromFile(args[3]);
        var batch = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
        var password = Environment.GetEnvironmentVariable("BENCH_IMAP_PASSWORD") ?? string.Empty;
        var mailboxes = File.ReadAllLines(args[5])
            .Where(l => l.Trim().Length > 0)
            .Select(l => l.Trim().Split(' ', 2))
            .ToList();

        var clock = Stopwatch.StartNew();
        var firstFetch = new FirstFetch();
        var results = await Task.WhenAll(mailboxes.Select(m => Task.Run(() =>
            FetchAllAsync(host, port, ca, m[0], password, m[1], batch, firstFetch))));
        clock.Stop();
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        Console.WriteLine($"ceiling mailboxes={mailboxes.Count} messages={results.Sum(r => r.Messages)} bytes={results.Sum(r => r.Bytes)} " +
                          $"seconds={clock.Elapsed.TotalSeconds.ToString("F3", invariant)} " +
                          $"first_fetch={(firstFetch.UnixMilliseconds / 1000.0).ToString("F3", invariant)}");
        return 0;
    }

    private static async Task<(long Messages, long Bytes)> FetchAllAsync(string host, int port, X509Certificate2 ca, string user, string password,
        string folderName, int batch, FirstFetch firstFetch)
    {
        using var client = new ImapClient();
        client.CheckCertificateRevocation = false;
        client.ServerCertificateValidationCallback = (_, certificate, _, errors) =>
            errors == System.Net.Security.SslPolicyErrors.None ||
            (certificate is not null && ca.RawDataMemory.Span.SequenceEqual(certificate.GetRawCertData()));
        await client.ConnectAsync(host, port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(user, password);
        var folder = (ImapFolder)await client.GetFolderAsync(folderName);
        await folder.OpenAsync(FolderAccess.ReadOnly);
        var uids = await folder.SearchAsync(SearchQuery.All);
        long messages = 0, bytes = 0;
        var sink = new byte[81920];
        firstFetch.Mark();
        for (var i = 0; i < uids.Count; i += batch)
        {
            var slice = uids.Skip(i).Take(batch).ToList();
            await folder.GetStreamsAsync(slice, async (_, _, _, stream, token) =>
            {
                int read;
                while ((read = await stream.ReadAsync(sink, token).ConfigureAwait(false)) > 0)
                {
                    bytes += read;
                }

                messages++;
            });
        }

        await client.DisconnectAsync(true);
        return (messages, bytes);
    }

    /// <summary>When the first connection of the run began to fetch bodies.</summary>
    private sealed class FirstFetch
    {
        private long _unixMilliseconds = long.MaxValue;

        public long UnixMilliseconds => Interlocked.Read(ref _unixMilliseconds);

        public void Mark()
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            long seen;
            while (now < (seen = Interlocked.Read(ref _unixMilliseconds)) &&
                   Interlocked.CompareExchange(ref _unixMilliseconds, now, seen) != seen)
            {
            }
        }
    }
}
