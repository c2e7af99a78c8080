using ImapActors.Domain;
using ImapActors.Testing;

namespace ImapActors.Mail.Tests;

/// <summary>
/// A FETCH the server refuses (it answers the command, NO or BAD, or ends the session with BYE in answer to it) is told
/// apart from a connection lost without an answer: the mailbox splits the first, and restarts on the second.
/// </summary>
public class ImapSessionRefusalTests
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    [Fact]
    public async Task Dovecot_ends_the_session_with_bye_for_a_message_it_cannot_read_and_that_is_a_refusal_naming_the_failure()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("unread");
        dovecot.LoadMessages(user.Name, "INBOX", [TestMessages.Small(1), TestMessages.Small(2), TestMessages.Small(3)]);
        dovecot.MakeUnservable(user.Name, "INBOX", 2);

        await using (var session = await ImapSession.ConnectAsync(dovecot.Asset(user), null, null, Ct))
        {
            await session.ExamineAsync("INBOX", Ct);
            Assert.Equal([1u, 2u, 3u], await session.SearchUidsAsync(1, 3, Ct));
            var ex = await Assert.ThrowsAsync<ImapFailureException>(() => session.FetchAsync([1, 2, 3], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct).AsTask());

            Assert.StartsWith("BYE FETCH failed: Internal error occurred.", ex.Refusal, StringComparison.Ordinal);
            Assert.Equal(ImapFailureCause.ConnectionLost, ex.Cause);
            Assert.Contains(ex.Refusal!, ex.Message, StringComparison.Ordinal);
            Assert.False(session.IsConnected);
        }

        dovecot.MakeServable(user.Name, "INBOX", 2);
        await using var again = await ImapSession.ConnectAsync(dovecot.Asset(user), null, null, Ct);
        await again.ExamineAsync("INBOX", Ct);
        var fetched = await again.FetchAsync([1, 2, 3], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct);
        Assert.Equal([1u, 2u, 3u], fetched.Select(e => e.Uid));
        fetched.ForEach(e => e.Raw.Dispose());
    }

    [Theory]
    [InlineData("NO Internal error occurred. Refer to server log for more information.")]
    [InlineData("BAD Message cannot be converted")]
    public async Task A_tagged_no_or_bad_to_fetch_is_a_refusal_and_the_session_still_works(string answer)
    {
        await using var server = Server(tag => [tag + " " + answer]);
        await using var session = await ConnectAsync(server);
        await session.ExamineAsync("INBOX", Ct);

        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => session.FetchAsync([1, 2], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct).AsTask());

        Assert.Equal(answer, ex.Refusal);
        Assert.Equal(ImapFailureCause.ProtocolError, ex.Cause);
        Assert.True(session.IsConnected);
        Assert.Equal([1u, 2u], await session.SearchUidsAsync(1, 2, Ct));
    }

    [Fact]
    public async Task A_connection_closed_without_an_answer_is_no_refusal()
    {
        await using var server = Server(_ => ["* 1 FETCH (UID 1)", FakeImapServer.Close]);
        await using var session = await ConnectAsync(server);
        await session.ExamineAsync("INBOX", Ct);

        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => session.FetchAsync([1, 2], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct).AsTask());

        Assert.Null(ex.Refusal);
        Assert.Equal(ImapFailureCause.ConnectionLost, ex.Cause);
    }

    [Fact]
    public async Task A_bye_in_answer_to_fetch_is_a_refusal_with_its_text()
    {
        await using var server = Server(_ => ["* BYE FETCH failed: Internal error occurred.", FakeImapServer.Close]);
        await using var session = await ConnectAsync(server);
        await session.ExamineAsync("INBOX", Ct);

        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => session.FetchAsync([1, 2], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct).AsTask());

        Assert.Equal("BYE FETCH failed: Internal error occurred.", ex.Refusal);
        Assert.False(session.IsConnected);
    }

    /// <summary>A folder of two messages whose body fetch gets <paramref name="bodyAnswer"/>; it offers LOGIN only.</summary>
    private static FakeImapServer Server(Func<string, IEnumerable<string>> bodyAnswer) => new(
        "* OK [CAPABILITY IMAP4rev1] fake ready",
        "IMAP4rev1",
        (tag, command) => command switch
        {
            _ when command.StartsWith("LOGIN", StringComparison.Ordinal) => [tag + " OK Logged in"],
            _ when command.StartsWith("LIST", StringComparison.Ordinal) => ["* LIST (\\HasNoChildren) \"/\" INBOX", tag + " OK List completed"],
            _ when command.StartsWith("EXAMINE", StringComparison.Ordinal) =>
                ["* 2 EXISTS", "* OK [UIDVALIDITY 42] UIDs valid", "* OK [UIDNEXT 3] Predicted next UID", tag + " OK [READ-ONLY] Examine completed"],
            _ when command.StartsWith("UID SEARCH", StringComparison.Ordinal) => ["* SEARCH 1 2", tag + " OK Search completed"],
            _ when command.StartsWith("UID FETCH", StringComparison.Ordinal) && command.Contains("BODY", StringComparison.Ordinal) => bodyAnswer(tag),
            _ when command.StartsWith("UID FETCH", StringComparison.Ordinal) =>
            [
                "* 1 FETCH (UID 1 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\")",
                "* 2 FETCH (UID 2 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\")",
                tag + " OK Fetch completed",
            ],
            _ => null,
        },
        implicitTls: true);

    private Task<ImapSession> ConnectAsync(FakeImapServer server) => ImapSession.ConnectAsync(new AssetSettings
    {
        Name = new AssetName("fake"),
        Server = "127.0.0.1",
        Port = server.Port,
        UseSsl = true,
        VerifyServerCert = false,
        Username = "soc",
        Password = new Secret("secret-password"),
        Timeout = TimeSpan.FromSeconds(10),
    }, null, null, Ct);
}
