namespace ImapActors.Cli.Tests.Http;

/// <summary>
/// A fact that drives Debian's Chromium through Playwright: reported as skipped, with the reason, where no Chromium is
/// installed (scripts/test.sh installs it; so does scripts/chromium.sh).
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Browser is null)
        {
            Skip = "needs Debian's chromium (bash scripts/chromium.sh installs it; IMAPACTORS_CHROMIUM names another)";
        }
    }

    /// <summary>The browser to launch: IMAPACTORS_CHROMIUM when set, else /usr/bin/chromium; null when neither exists.</summary>
    public static string? Browser =>
        new[] { Environment.GetEnvironmentVariable("IMAPACTORS_CHROMIUM"), "/usr/bin/chromium" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));
}
