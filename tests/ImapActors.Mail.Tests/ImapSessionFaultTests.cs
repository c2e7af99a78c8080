using ImapActors.Testing;

namespace ImapActors.Mail.Tests;

/// <summary>A Dovecot of the fault tests' own, stopped when they are done.</summary>
public sealed class PrivateDovecotFixture : IDisposable
{
    public DovecotInstance Dovecot { get; } = TestServices.StartPrivateDovecot("mail-faults");

    public void Dispose() => Dovecot.Stop();
}

/// <summary>Kills its own Dovecot, so it never disturbs tests that share <see cref="TestServices.Dovecot"/>.</summary>
public sealed class ImapSessionFaultTests(PrivateDovecotFixture fixture) : IClassFixture<PrivateDovecotFixture>, IDisposable
{
    private readonly DovecotInstance _dovecot = fixture.Dovecot;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    [Fact]
    public async Task Server_killed_mid_session_fails_with_connection_lost_and_a_new_session_works()
    {
        var user = _dovecot.CreateUser();
        _dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(1, 20).Select(n => TestMessages.Small(n)));
        await using var session = await ImapSession.ConnectAsync(_dovecot.Asset(user), null, null, Ct);
        await session.ExamineAsync("INBOX", Ct);

        _dovecot.KillAndRestart();
        var ex = await Assert.ThrowsAsync<ImapFailureException>(async () =>
            await session.FetchAsync([.. Enumerable.Range(1, 20).Select(n => (uint)n)], 1024 * 1024, Path.GetTempPath(), Ct).ToListAsync(Ct));

        Assert.Equal(ImapFailureCause.ConnectionLost, ex.Cause);
        Assert.True(ex.IsTransient);
        await using var again = await ImapSession.ConnectAsync(_dovecot.Asset(user), null, null, Ct);
        var status = await again.ExamineAsync("INBOX", Ct);
        Assert.Equal(20, status.Count);
    }

    [Fact]
    public async Task Stopped_server_refuses_and_a_started_one_accepts_on_the_same_port()
    {
        var user = _dovecot.CreateUser();
        _dovecot.Stop();

        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => ImapSession.ConnectAsync(_dovecot.Asset(user), null, null, Ct));
        _dovecot.Start();
        await using var session = await ImapSession.ConnectAsync(_dovecot.Asset(user), null, null, Ct);

        Assert.Equal(ImapFailureCause.ConnectionRefused, ex.Cause);
        Assert.True(session.IsConnected);
    }

    public void Dispose()
    {
        _timeout.Dispose();
    }
}
