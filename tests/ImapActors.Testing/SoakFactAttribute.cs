using Xunit;

namespace ImapActors.Testing;

/// <summary>
/// A fact that runs for minutes: reported as skipped unless <c>IMAPACTORS_SOAK=1</c> (README: the soak command), so the
/// default suite stays short.
/// </summary>
public sealed class SoakFactAttribute : FactAttribute
{
    public SoakFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("IMAPACTORS_SOAK") != "1")
        {
            Skip = "a soak run: set IMAPACTORS_SOAK=1 (bash scripts/test.sh with it, see README)";
        }
    }
}
