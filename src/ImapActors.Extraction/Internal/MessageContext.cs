using System.Text.Json.Nodes;
using ImapActors.Domain;

namespace ImapActors.Extraction.Internal;

/// <summary>What every part of one message's extraction shares: settings, budget, issues and the artifact limit.</summary>
internal sealed class MessageContext
{
    private readonly List<IngestionIssue> _issues = [];
    private readonly HashSet<string> _issueCodes = [];
    private readonly HashSet<string> _sdis = [];
    private int _artifactCount;

    public MessageContext(ExtractionSettings settings, uint uid, Budget budget)
    {
        Settings = settings;
        Uid = uid;
        Budget = budget;
    }

    public ExtractionSettings Settings { get; }

    public ExtractionLimits Limits => Settings.Limits;

    public Budget Budget { get; }

    /// <summary>The message's UID, which the root's and inline forwards' Email Artifacts carry as emailId.</summary>
    public uint Uid { get; }

    public IReadOnlyList<IngestionIssue> Issues => _issues;

    /// <summary>What the extraction opened and must close when it ends (the spooled content of attached messages).</summary>
    public List<IDisposable> Resources { get; } = [];

    public void AddIssue(string code, string detail)
    {
        // One issue per kind of problem: a message with thousands of bad parts gives one line, not thousands.
        if (_issueCodes.Add(code))
        {
            _issues.Add(new IngestionIssue(code, detail));
        }
    }

    /// <summary>
    /// Whether one more artifact fits under the message's limit; if it does it is counted, if not the limit's issue is
    /// recorded. Callers ask only once they know the artifact is new, so a repeat never uses up the limit.
    /// </summary>
    public bool TryCountArtifact()
    {
        if (_artifactCount < Limits.MaxArtifacts)
        {
            _artifactCount++;
            return true;
        }

        AddIssue(IssueCodes.ArtifactLimit, $"more than {Limits.MaxArtifacts} artifacts; the rest were dropped");
        return false;
    }

    /// <summary>
    /// Whether no Email or Vault Artifact of this message had this source data identifier yet (it has one now): the
    /// same header set or file met twice gives one artifact.
    /// </summary>
    public bool AddSdi(string sourceDataIdentifier) => _sdis.Add(sourceDataIdentifier);

    public Artifact MakeArtifact(string name, JsonObject cef, JsonObject? cefTypes) =>
        new(name, cef, cefTypes, false, CanonicalJson.HashArtifact(name, cef, cefTypes, Settings.Fips));
}
