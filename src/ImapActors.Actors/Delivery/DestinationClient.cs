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

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
        }

        return custom.Build(new X509Certificate2(certificate));
    }

    /// <summary>
    /// The exception for an answer that is not a success: 408, 429 and 5xx may pass (Retry-After kept), any other status is
    /// refused for good. <paramref name="what"/> names the request; the answer's first 200 characters say why.
    /// </summary>
    internal static async Task<DestinationException> FailureAsync(HttpResponseMessage response, string what, CancellationToken ct)
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
            408 => new DestinationException("timeout", message, true, retryAfter),
            >= 500 => new DestinationException("http_5xx", message, true, retryAfter),
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
        catch (DestinationException e)
        {
            return e.ToOutcome();
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return DeliveryOutcome.Failure("timeout", $"{destination}: no answer in time", retryable: true);
        }
        catch (HttpRequestException e)
        {
            return DeliveryOutcome.Failure("connect", $"{destination}: {e.Message}", retryable: true);
        }
        catch (IOException e)
        {
            return DeliveryOutcome.Failure("connect", $"{destination}: {e.Message}", retryable: true);
        }
    }

    internal static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    internal static bool IsSuccess(HttpStatusCode status) => (int)status is >= 200 and < 300;
}
