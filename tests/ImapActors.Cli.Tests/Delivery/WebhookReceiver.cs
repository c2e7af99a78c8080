using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ImapActors.Cli.Tests.Delivery;

/// <summary>
/// A webhook receiver on 127.0.0.1 as a careful one is written: it checks <c>X-ImapActors-Signature</c> against its
/// secret (HMAC-SHA256 of "t.body", compared in constant time), keeps each <c>X-ImapActors-Delivery</c> once, and records
/// every request; it can answer 500 to a share of them.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    public WebhookReceiver(string secret)
    {
        Secret = secret;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/hook", ReceiveAsync);
    }

    public string Secret { get; }

    public string Url { get; private set; } = "";

    public double FailureRate { get; set; }

    /// <summary>Every request: its delivery id, whether its signature verified, the status answered.</summary>
    public ConcurrentQueue<(string? DeliveryId, bool Verified, int Status)> Received { get; } = new();

    /// <summary>The body accepted (2xx) for each delivery id, counted: a careful receiver keeps one.</summary>
    public ConcurrentDictionary<string, (JsonObject Body, int Accepted)> Accepted { get; } = new();

    public async Task StartAsync()
    {
        await _app.StartAsync();
        Url = _app.Urls.First() + "/hook";
    }

    private async Task<IResult> ReceiveAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var id = request.Headers["X-ImapActors-Delivery"].ToString();
        var verified = Verify(request.Headers["X-ImapActors-Signature"].ToString(), body);
        if (!verified)
        {
            Received.Enqueue((id, false, 401));
            return Results.StatusCode(401);
        }

        if (Random.Shared.NextDouble() < FailureRate)
        {
            Received.Enqueue((id, true, 500));
            return Results.StatusCode(500);
        }

        Accepted.AddOrUpdate(id, _ => (JsonNode.Parse(body)!.AsObject(), 1), (_, seen) => (seen.Body, seen.Accepted + 1));
        Received.Enqueue((id, true, 200));
        return Results.Ok();
    }

    /// <summary>A receiver's check: t=UNIX,v1=HEX with HEX the HMAC-SHA256 of "t.body", and t within five minutes.</summary>
    public bool Verify(string header, string body)
    {
        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var t) || !parts.TryGetValue("v1", out var v1)
            || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var unix)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - unix) > 300)
        {
            return false;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(t + "." + body));
        try
        {
            return CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(v1));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
