using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Delivery;

/// <summary>How one attempt to deliver a container ended.</summary>
/// <param name="Delivered">The destination has the container.</param>
/// <param name="RemoteId">What the destination calls it (SOAR's container id), when it says.</param>
/// <param name="Cause">Why it failed, as a metric label: connect, timeout, http_5xx, http_429, refused, mismatch, missing.</param>
/// <param name="Error">One line for the outbox and the log; never a secret.</param>
/// <param name="Retryable">Whether trying again may help; false makes the delivery dead at once.</param>
/// <param name="RetryAfter">The destination's Retry-After, when it sent one.</param>
public sealed record DeliveryOutcome(bool Delivered, string? RemoteId, string? Cause, string? Error, bool Retryable, TimeSpan? RetryAfter)
{
    public static DeliveryOutcome Success(string? remoteId) => new(true, remoteId, null, null, false, null);

    public static DeliveryOutcome Failure(string cause, string error, bool retryable, TimeSpan? retryAfter = null) =>
        new(false, null, cause, error, retryable, retryAfter);
}

/// <summary>Sends one container to one destination; every call is safe to repeat (the destination sees the container once).</summary>
public interface IDestinationClient : IDisposable
{
    Task<DeliveryOutcome> DeliverAsync(Storage.Delivery delivery, CancellationToken cancellationToken);
}

/// <summary>A destination's HTTP answer that ends the attempt, with what the delivery actor needs to decide.</summary>
public sealed class DestinationException(string cause, string message, bool retryable, TimeSpan? retryAfter = null) : Exception(message)
{
    public string Cause { get; } = cause;

    public bool Retryable { get; } = retryable;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public DeliveryOutcome ToOutcome() => DeliveryOutcome.Failure(Cause, Message, Retryable, RetryAfter);
}

/// <summary>The clients of the configured destinations, and the HTTP plumbing they share.</summary>
public static class DestinationClients
{
    /// <summary>The client of <paramref name="destination"/>, reading containers from <paramref name="store"/> and files from <paramref name="vault"/>.</summary>
    public static IDestinationClient Create(DestinationSettings destination, EngineSettings settings, IContainerStore store, IVault vault,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(settings);
        var http = Http(destination);
        var soarAssetIds = settings.Assets.ToDictionary(a => a.Name.Value, a => a.SoarAssetId, StringComparer.Ordinal);
        return destination.Type switch
        {
            DestinationType.Soar => new SoarDestination(destination, http, store, vault, asset => soarAssetIds.GetValueOrDefault(asset)),
            _ => new WebhookDestination(destination, http, store, vault, settings.Http.PublicUrl, time ?? TimeProvider.System),
        };
    }

    /// <summary>An HTTP client for the destination: its timeout, its certificate rules, as many connections as its concurrency.</summary>
    internal static HttpClient Http(DestinationSettings destination)
    {
        X509Certificate2Collection? roots = null;
        if (destination.VerifyServerCert && destination.CaFile is { } caFile)
        {
            roots = [];
            roots.ImportFromPemFile(caFile);
        }

        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = destination.Concurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = destination.Timeout,
            AllowAutoRedirect = false,
            UseCookies = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusted(destination, roots, certificate, chain, errors),
            },
        };
        return new HttpClient(handler) { Timeout = destination.Timeout };
    }

    private static bool Trusted(DestinationSettings destination, X509Certificate2Collection? roots, X509Certificate? certificate, X509Chain? chain,
        SslPolicyErrors errors)
    {
        if (!destination.VerifyServerCert || errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (roots is null || certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }

        return Mail.CustomRootTrust.ChainStatus(roots, certificate, chain) is null;
    }

    /// <summary>
    /// The exception for an answer that is not a success: 408, 429 and 5xx may pass (Retry-After kept), any other status is
    /// refused for good. <paramref name="what"/> names the request; the answer's first 200 characters say why.
    /// </summary>
    /// <remarks>
    /// A 404 means the destination's address is wrong (it refuses everyone) unless <paramref name="notFoundIsThisContainer"/>:
    /// a request about one SOAR container that is gone (an analyst deleted it) is refused for that container alone.
    /// </remarks>
    internal static async Task<DestinationException> FailureAsync(HttpResponseMessage response, string what, CancellationToken ct,
        bool notFoundIsThisContainer = false)
    {
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(ct);
        var detail = body.Length > 200 ? body[..200] + "..." : body;
        detail = detail.ReplaceLineEndings(" ");
        var retryAfter = RetryAfter(response.Headers.RetryAfter);
        var message = $"{what}: HTTP {status} {response.ReasonPhrase}{(detail.Length > 0 ? ": " + detail : "")}";
        return status switch
        {
            429 => new DestinationException("http_429", message, true, retryAfter),
            408 => new DestinationException("http_408", message, true, retryAfter),
            >= 500 => new DestinationException("http_5xx", message, true, retryAfter),
            // The destination refuses everyone, not this container: credentials, a proxy, a wrong URL.
            401 or 403 or 407 => new DestinationException("auth", message, true, retryAfter),
            404 when notFoundIsThisContainer => new DestinationException("refused", message, false),
            404 or (>= 300 and < 400) => new DestinationException("misrouted", message, true, retryAfter),
            _ => new DestinationException("refused", message, false),
        };
    }

    internal static TimeSpan? RetryAfter(RetryConditionHeaderValue? header)
    {
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>
    /// Runs one attempt, turning transport failures into outcomes: a refused or dropped connection and a timeout may
    /// pass; the caller's own cancellation (the engine stopping) propagates.
    /// </summary>
    internal static async Task<DeliveryOutcome> AttemptAsync(Func<Task<DeliveryOutcome>> attempt, string destination, CancellationToken ct)
    {
        try
        {
            return await attempt();
        }
        catch (Exception e) when (Classify(e, destination, ct) is { } outcome)
        {
            return outcome;
        }
    }

    /// <summary>
    /// What a failure of an attempt means: an answer that ends it, a refused or dropped connection or a timeout (which may
    /// pass), our own read failing; null for the caller's own cancellation (the engine stopping), which propagates.
    /// </summary>
    internal static DeliveryOutcome? Classify(Exception e, string destination, CancellationToken ct) => e switch
    {
        DestinationException d => d.ToOutcome(),
        TaskCanceledException when !ct.IsCancellationRequested => DeliveryOutcome.Failure("timeout", $"{destination}: no answer in time", retryable: true),
        HttpRequestException or HttpIOException => DeliveryOutcome.Failure("connect", $"{destination}: {e.Message}", retryable: true),
        // Ours, not the network's: a vault file that cannot be read.
        IOException => DeliveryOutcome.Failure("io", $"{destination}: reading what to send failed: {e.Message}", retryable: true),
        _ => null,
    };

    /// <summary>
    /// The current value of a destination's secret, or the failure to send instead: a secret file that cannot be read
    /// is the destination's configuration, not the container, and says which file without its content.
    /// </summary>
    internal static string? ReadSecret(Secret? secret, string destination, out DeliveryOutcome? failure)
    {
        failure = null;
        try
        {
            return secret?.Current();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = DeliveryOutcome.Failure("secret", $"{destination}: the secret file {secret?.File} cannot be read: {e.Message}", retryable: true);
            return null;
        }
    }

    internal static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    internal static bool IsSuccess(HttpStatusCode status) => (int)status is >= 200 and < 300;
}
