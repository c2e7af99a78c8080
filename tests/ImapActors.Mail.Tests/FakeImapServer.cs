using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ImapActors.Mail.Tests;

/// <summary>
/// A scripted IMAP server on loopback for behaviours Dovecot cannot show (no STARTTLS, silence, XOAUTH2):
/// it greets, answers CAPABILITY and LOGOUT, and hands every other command to <c>respond</c>.
/// </summary>
internal sealed class FakeImapServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<string> _received = [];
    private readonly X509Certificate2? _certificate;

    /// <param name="greeting">The untagged greeting; null means the server accepts and then stays silent.</param>
    /// <param name="capabilities">The CAPABILITY response line after <c>* CAPABILITY</c>.</param>
    /// <param name="respond">Tag and command in, lines to send (with tag) out; null falls back to <c>tag BAD</c>; <see cref="Close"/> closes.</param>
    /// <param name="implicitTls">Speak TLS from the first byte with a throwaway self-signed certificate.</param>
    public FakeImapServer(string? greeting, string capabilities, Func<string, string, IEnumerable<string>?>? respond = null, bool implicitTls = false)
    {
        if (implicitTls)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=fake-imap", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        }

        _listener.Start();
        _loop = Task.Run(() => AcceptAsync(greeting, capabilities, respond ?? ((_, _) => null)));
    }

    /// <summary>A reply line that makes the server close the connection instead of sending a line.</summary>
    public const string Close = "<close>";

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<string> Received
    {
        get
        {
            lock (_received)
            {
                return _received.ToList();
            }
        }
    }

    private async Task AcceptAsync(string? greeting, string capabilities, Func<string, string, IEnumerable<string>?> respond)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => ServeAsync(client, greeting, capabilities, respond));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client, string? greeting, string capabilities, Func<string, string, IEnumerable<string>?> respond)
    {
        using var _ = client;
        try
        {
            Stream stream = client.GetStream();
            if (_certificate is not null)
            {
                var tls = new SslStream(stream);
                await tls.AuthenticateAsServerAsync(_certificate);
                stream = tls;
            }

            using var reader = new StreamReader(stream, Encoding.ASCII);
            await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            if (greeting is null)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }

            await writer.WriteLineAsync(greeting);
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                lock (_received)
                {
                    _received.Add(line);
                }

                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var tag = space > 0 ? line[..space] : line;
                var command = space > 0 ? line[(space + 1)..] : string.Empty;
                if (command.Equals("CAPABILITY", StringComparison.OrdinalIgnoreCase))
                {
                    await writer.WriteLineAsync("* CAPABILITY " + capabilities);
                    await writer.WriteLineAsync(tag + " OK CAPABILITY completed");
                }
                else if (command.Equals("LOGOUT", StringComparison.OrdinalIgnoreCase))
                {
                    await writer.WriteLineAsync("* BYE bye");
                    await writer.WriteLineAsync(tag + " OK LOGOUT completed");
                    return;
                }
                else
                {
                    foreach (var reply in respond(tag, command) ?? [tag + " BAD unknown command"])
                    {
                        if (reply == Close)
                        {
                            return;
                        }

                        await writer.WriteLineAsync(reply);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
        _certificate?.Dispose();
    }
}
