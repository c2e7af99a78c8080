// Placeholder signatures of the extraction library's public API, replaced by the library itself.
using ImapActors.Domain;

namespace ImapActors.Extraction;

public sealed class ParsedEmail : IDisposable
{
    public void Dispose() { }
}

public sealed class EmailProcessor(IVault vault)
{
    public IVault Vault => vault;

    public ParsedEmail Parse(RawEmail raw, EmailSource source) => throw new NotImplementedException();

    public ProcessedEmail Extract(ParsedEmail parsed, ExtractionSettings settings, string label) => throw new NotImplementedException();
}
