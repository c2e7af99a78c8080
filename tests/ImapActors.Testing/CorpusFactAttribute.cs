using Xunit;

namespace ImapActors.Testing;

/// <summary>
/// A fact that needs the shared corpus (and, with <c>withExpected</c>, the reference's results for it): reported as
/// skipped, with the reason, in a clone without the shared folder beside it.
/// </summary>
public sealed class CorpusFactAttribute : FactAttribute
{
    public CorpusFactAttribute(bool withExpected = false)
    {
        if (RepoPaths.Corpus is null || (withExpected && RepoPaths.CorpusExpected is null))
        {
            Skip = withExpected
                ? "needs the shared corpus and corpus-expected folders (../shared or IMAPACTORS_SHARED)"
                : "needs the shared corpus folder (../shared or IMAPACTORS_SHARED)";
        }
    }
}
