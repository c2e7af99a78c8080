namespace ImapActors.Domain;

/// <summary>Where a destination sends containers.</summary>
public enum DestinationType
{
    /// <summary>Splunk SOAR's REST API: a container, its attachments and its artifacts.</summary>
    Soar,

    /// <summary>One signed JSON POST per container.</summary>
    Webhook,
}

/// <summary>
/// One destination of <c>imapactors.destinations</c>: where its containers go, how to authenticate, and how hard to try.
/// Assets name their destinations in <c>deliver_to</c>.
/// </summary>
public sealed record DestinationSettings
{
    public required string Name { get; init; }

    public required DestinationType Type { get; init; }

    /// <summary>The SOAR instance's base URL (its <c>/rest</c> API below it), or the webhook's URL.</summary>
    public required Uri Url { get; init; }

    /// <summary>SOAR's <c>ph-auth-token</c>.</summary>
    public Secret? Token { get; init; }

    /// <summary>The webhook's HMAC-SHA256 key.</summary>
    public Secret? Secret { get; init; }

    public bool VerifyServerCert { get; init; } = true;

    /// <summary>A PEM file of extra trusted certificate authorities.</summary>
    public string? CaFile { get; init; }

    /// <summary>SOAR: the label the containers get there; null keeps each container's own (its asset's <c>label</c>).</summary>
    public string? Label { get; init; }

    /// <summary>SOAR: the containers' severity there; null leaves SOAR's default.</summary>
    public string? Severity { get; init; }

    /// <summary>Attempts of one container before it is <c>dead</c> (a refused request is dead at once).</summary>
    public int MaxAttempts { get; init; } = 50;

    /// <summary>Containers sent at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Time allowed for one HTTP request.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Delay before a failed container is tried again: doubled at each attempt, with jitter, up to the maximum.</summary>
    public RetrySchedule Retry { get; init; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
}
