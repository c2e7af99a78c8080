using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Delivery;

/// <summary>
/// Delivers a container as one JSON POST: the SOAR shape with its artifacts (as <c>containers show --json</c>), each
/// vault file with a link to it in the HTTP API. <c>X-ImapActors-Delivery</c> names the delivery (the same on every
/// retry, for the receiver to keep once) and <c>X-ImapActors-Signature: t=UNIX,v1=HEX</c> is the HMAC-SHA256 of
/// <c>"t.body"</c> under the destination's secret. Any 2xx answer delivers it.
/// </summary>
internal sealed class WebhookDestination(DestinationSettings destination, HttpClient http, IContainerStore store, IVault vault, Uri? publicUrl,
    TimeProvider time) : IDestinationClient
{
    public const string DeliveryHeader = "X-ImapActors-Delivery";
    public const string SignatureHeader = "X-ImapActors-Signature";

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public Task<DeliveryOutcome> DeliverAsync(Storage.Delivery delivery, CancellationToken cancellationToken)
    {
        var secret = DestinationClients.ReadSecret(destination.Secret, destination.Name, out var failure);
        return failure is not null
            ? Task.FromResult(failure)
            : DestinationClients.AttemptAsync(() => SendAsync(delivery, secret!, cancellationToken), destination.Name, cancellationToken);
    }

    private async Task<DeliveryOutcome> SendAsync(Storage.Delivery delivery, string secret, CancellationToken ct)
    {
        var container = await store.GetContainerAsync(delivery.ContainerId, ct);
        if (container is null)
        {
            return DeliveryOutcome.Failure("missing", $"container {delivery.ContainerId} is no longer in the store", retryable: false);
        }

        var json = StoredContainerJson.ToJson(container, vault);
        if (json["vault"] is JsonArray files)
        {
            foreach (var file in files.OfType<JsonObject>())
            {
                var path = "/api/v1/vault/" + file["vault_id"]!.GetValue<string>();
                file["url"] = publicUrl is null ? path : new Uri(publicUrl, path).ToString();
            }
        }

        json["delivery_id"] = DeliveryId(delivery);
        var body = json.ToJsonString(Json);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, destination.Url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(DeliveryHeader, DeliveryId(delivery));
        request.Headers.Add(SignatureHeader, $"t={timestamp},v1={Sign(secret, timestamp, body)}");
        using var response = await http.SendAsync(request, ct);
        if (!DestinationClients.IsSuccess(response.StatusCode))
        {
            throw await DestinationClients.FailureAsync(response, "POST " + destination.Url.AbsolutePath, ct);
        }

        return DeliveryOutcome.Success(null);
    }

    /// <summary>The delivery's id as receivers see it: stable across retries of one container to one destination.</summary>
    public static string DeliveryId(Storage.Delivery delivery) =>
        "d" + delivery.Id.ToString(CultureInfo.InvariantCulture);

    /// <summary>Lower-case hex HMAC-SHA256 of <c>"{timestamp}.{body}"</c> under <paramref name="secret"/>.</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    public void Dispose() => http.Dispose();
}
