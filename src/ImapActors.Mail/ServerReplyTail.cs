using System.Text;
using MailKit;

namespace ImapActors.Mail;

/// <summary>
/// Keeps the last line the server sent, for the answers MailKit reduces to a bare "Authentication failed." (Dovecot's
/// <c>NO [LIMIT] Maximum number of connections ...</c> to a login is one), and hands everything on to an optional
/// diagnostic logger. Only server lines are kept: the client's, which carry the login, are never looked at.
/// </summary>
internal sealed class ServerReplyTail(IProtocolLogger? inner) : IProtocolLogger
{
    private const int Keep = 1024;
    private readonly byte[] _tail = new byte[Keep];
    private int _length;

    public IAuthenticationSecretDetector? AuthenticationSecretDetector
    {
        get => inner?.AuthenticationSecretDetector ?? NoSecrets.Instance;
        set
        {
            if (inner is not null && value is not null)
            {
                inner.AuthenticationSecretDetector = value;
            }
        }
    }

    /// <summary>The last complete or partial line the server sent, without its line break.</summary>
    public string LastLine
    {
        get
        {
            var text = Encoding.ASCII.GetString(_tail, 0, _length).TrimEnd('\r', '\n');
            var start = text.LastIndexOf('\n');
            return start < 0 ? text : text[(start + 1)..].TrimStart('\r');
        }
    }

    public void LogConnect(Uri uri) => inner?.LogConnect(uri);

    public void LogClient(byte[] buffer, int offset, int count) => inner?.LogClient(buffer, offset, count);

    public void LogServer(byte[] buffer, int offset, int count)
    {
        inner?.LogServer(buffer, offset, count);
        if (count >= Keep)
        {
            Buffer.BlockCopy(buffer, offset + count - Keep, _tail, 0, Keep);
            _length = Keep;
            return;
        }

        var kept = Math.Min(_length, Keep - count);
        Buffer.BlockCopy(_tail, _length - kept, _tail, 0, kept);
        Buffer.BlockCopy(buffer, offset, _tail, kept, count);
        _length = kept + count;
    }

    public void Dispose() => inner?.Dispose();

    private sealed class NoSecrets : IAuthenticationSecretDetector
    {
        public static NoSecrets Instance { get; } = new();

        public IList<AuthenticationSecret> DetectSecrets(byte[] buffer, int offset, int count) => [];
    }
}
