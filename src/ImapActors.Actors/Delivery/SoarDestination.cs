using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Storage;

namespace ImapActors.Actors.Delivery;

/// <summary>
/// Delivers a container to Splunk SOAR's REST API (ph-auth-token). In order: <c>POST /rest/container</c> with the email
/// and its artifacts other than Vault Artifacts; each vault file through <c>POST /rest/container_attachment</c>, whose
/// vault id must be ours (both are the SHA-1); then the Vault Artifacts through <c>POST /rest/artifact</c>, the one
/// artifact with <c>run_automation = true</c> last, so a playbook starts once, after every part exists.
/// </summary>
/// <remarks>
/// Safe to repeat after any failure: SOAR answers a second container with the same source data identifier in the same
/// SOAR asset with the first one's id (<c>existing_container_id</c>), and the attempt then lists what that container
/// already has (its attachments, its artifacts' source data identifiers) and sends only the rest. The playbook's
/// artifact goes last and only when missing, so it exists at most once. The container's <c>data</c> carries the raw
/// email's SHA-256 (<c>imapactors_raw_sha256</c>): a duplicate answer pointing at a SOAR container that holds another
/// email (our identifier repeats after a UIDVALIDITY change, or another ingester used the SOAR asset) is a conflict,
/// dead with its reason, never completed with this email's parts.
/// <para>One instance per destination holds its HTTP client; each attempt runs on a copy carrying the token read for it.</para>
/// </remarks>
internal sealed class SoarDestination(DestinationSettings destination, HttpClient http, IContainerStore store, IVault vault,
    Func<string, int?> soarAssetIds, string? token = null) : IDestinationClient
{
    private const string VaultArtifactName = "Vault Artifact";
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Uri _rest = new(destination.Url.ToString().TrimEnd('/') + "/rest/");

    public Task<DeliveryOutcome> DeliverAsync(Storage.Delivery delivery, CancellationToken cancellationToken)
    {
        // Read once per attempt, outside the requests: a token file rotated on disk is used from the next attempt on.
        var current = DestinationClients.ReadSecret(destination.Token, destination.Name, out var failure);
        return failure is not null
            ? Task.FromResult(failure)
            : DestinationClients.AttemptAsync(() => new SoarDestination(destination, http, store, vault, soarAssetIds, current).SendAsync(delivery, cancellationToken),
                destination.Name, cancellationToken);
    }

    private async Task<DeliveryOutcome> SendAsync(Storage.Delivery delivery, CancellationToken ct)
    {
        var container = await store.GetContainerAsync(delivery.ContainerId, ct);
        if (container is null)
        {
            return DeliveryOutcome.Failure("missing", $"container {delivery.ContainerId} is no longer in the store", retryable: false);
        }

        var soarAssetId = soarAssetIds(container.Summary.Asset);
        var artifacts = container.Artifacts;
        var trigger = LastIndex(artifacts);
        var inline = artifacts.Where((a, i) => i != trigger && a.Name != VaultArtifactName).ToList();
        var later = artifacts.Where((a, i) => i != trigger && a.Name == VaultArtifactName).ToList();
        if (trigger >= 0)
        {
            later.Add(artifacts[trigger]);
        }

        // An earlier attempt that made the container left its id: this one goes straight to the missing parts.
        var (id, existing) = delivery.RemoteId is { } made && long.TryParse(made, System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var madeId)
            ? (madeId, true)
            : await CreateContainerAsync(container, soarAssetId, inline, ct);
        try
        {
            return await CompleteAsync(container, id, existing, inline, later, trigger, artifacts, ct);
        }
        catch (Exception e) when (DestinationClients.Classify(e, destination.Name, ct) is { } failed)
        {
            return failed with { RemoteId = DestinationClients.Invariant(id) };
        }
    }

    /// <summary>Everything after the container: its files, then its remaining artifacts, the playbook's last.</summary>
    private async Task<DeliveryOutcome> CompleteAsync(StoredContainer container, long id, bool existing, List<Artifact> inline, List<Artifact> later,
        int trigger, IReadOnlyList<Artifact> artifacts, CancellationToken ct)
    {
        HashSet<string> haveFiles = [];
        HashSet<string> haveArtifacts = [.. inline.Select(a => a.SourceDataIdentifier)];
        if (existing)
        {
            // A container made by an earlier attempt: complete it instead of making a second one.
            // A listed attachment names its SHA-1 as vault_id, or as hash in some versions: either is our vault id.
            haveFiles = await ListAsync($"container_attachment?_filter_container_id={id}&page_size=0", ["vault_id", "hash"], ct);
            haveArtifacts = await ListAsync($"container/{id}/artifacts?page_size=0", ["source_data_identifier"], ct);
            later = [.. inline.Where(a => !haveArtifacts.Contains(a.SourceDataIdentifier)), .. later];
        }

        foreach (var file in container.VaultFiles.DistinctBy(f => f.VaultId.Value))
        {
            if (!haveFiles.Contains(file.VaultId.Value))
            {
                await AttachAsync(id, file, ct);
            }
        }

        foreach (var artifact in later.Where(a => !haveArtifacts.Contains(a.SourceDataIdentifier)))
        {
            await AddArtifactAsync(id, destination.Label ?? container.Label, artifact, runAutomation: ReferenceEquals(artifact, trigger >= 0 ? artifacts[trigger] : null), ct);
        }

        return DeliveryOutcome.Success(DestinationClients.Invariant(id));
    }

    /// <summary>The artifact that starts playbooks: the one extraction marked, or the last.</summary>
    private static int LastIndex(IReadOnlyList<Artifact> artifacts)
    {
        for (var i = artifacts.Count - 1; i >= 0; i--)
        {
            if (artifacts[i].RunAutomation)
            {
                return i;
            }
        }

        return artifacts.Count - 1;
    }

    private async Task<(long Id, bool Existing)> CreateContainerAsync(StoredContainer container, int? soarAssetId, IReadOnlyList<Artifact> inline,
        CancellationToken ct)
    {
        var rawEmail = StoredContainerJson.ReadRawEmail(vault, container)
            ?? throw new DestinationException("missing", $"the raw email {container.RawEmail.Value} of container {container.Summary.Id} is not in the vault",
                retryable: false);

        var body = new JsonObject
        {
            ["name"] = container.Summary.Name,
            ["label"] = destination.Label ?? container.Label,
            ["source_data_identifier"] = container.Summary.SourceDataIdentifier,
            ["asset_id"] = soarAssetId,
            ["run_automation"] = false,
            ["data"] = new JsonObject
            {
                ["raw_email"] = rawEmail,
                ["imapactors_container_id"] = container.Summary.Id,
                ["imapactors_raw_sha256"] = container.RawSha256,
            },
            ["artifacts"] = new JsonArray(inline.Select(a => (JsonNode?)ArtifactJson(null, destination.Label ?? container.Label, a, runAutomation: false)).ToArray()),
        };
        if (destination.Severity is { } severity)
        {
            body["severity"] = severity;
        }

        using var response = await PostAsync("container", body, ct);
        var answer = await ReadJsonAsync(response, ct);
        // SOAR answers a duplicate source data identifier with the container that has it, as a success or a 400.
        if (answer?["existing_container_id"] is JsonValue existing && existing.TryGetValue<long>(out var existingId))
        {
            await CheckSameEmailAsync(existingId, container, ct);
            return (existingId, true);
        }

        if (!DestinationClients.IsSuccess(response.StatusCode))
        {
            throw await DestinationClients.FailureAsync(response, "POST /rest/container", ct);
        }

        if (answer?["id"] is JsonValue idValue && idValue.TryGetValue<long>(out var id))
        {
            return (id, false);
        }

        throw new DestinationException("refused", "POST /rest/container: the answer has no container id", retryable: true);
    }

    /// <summary>Whether SOAR's container <paramref name="id"/>, which has our source data identifier, holds this very email.</summary>
    private async Task CheckSameEmailAsync(long id, StoredContainer container, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_rest, $"container/{id}"));
        using var response = await SendAsync(request, ct);
        if (!DestinationClients.IsSuccess(response.StatusCode))
        {
            throw await DestinationClients.FailureAsync(response, $"GET /rest/container/{id}", ct, notFoundIsThisContainer: true);
        }

        var theirs = (await ReadJsonAsync(response, ct))?["data"]?["imapactors_raw_sha256"] is JsonValue v && v.TryGetValue<string>(out var sha)
            ? sha
            : null;
        if (!string.Equals(theirs, container.RawSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new DestinationException("conflict",
                $"SOAR container {id} already has source data identifier '{container.Summary.SourceDataIdentifier}' in this SOAR asset and holds "
                + (theirs is null ? "an email this engine did not send" : "another email")
                + " (the folder's UIDVALIDITY changed, or another ingester uses the SOAR asset); give the asset a soar_asset_id of its own",
                retryable: false);
        }
    }

    private async Task AttachAsync(long containerId, VaultFile file, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_rest, "container_attachment"))
        {
            Content = new AttachmentContent(containerId, file, vault),
        };
        using var response = await SendAsync(request, ct);
        if (!DestinationClients.IsSuccess(response.StatusCode))
        {
            throw await DestinationClients.FailureAsync(response, $"POST /rest/container_attachment ({file.FileName})", ct, notFoundIsThisContainer: true);
        }

        var answer = await ReadJsonAsync(response, ct);
        var vaultId = answer?["vault_id"]?.GetValue<string>();
        if (!string.Equals(vaultId, file.VaultId.Value, StringComparison.OrdinalIgnoreCase))
        {
            // The same bytes must have the same SHA-1 on both sides; anything else is not the file we sent.
            throw new DestinationException("mismatch",
                $"POST /rest/container_attachment ({file.FileName}): SOAR stored vault id '{vaultId}', ours is '{file.VaultId.Value}'", retryable: false);
        }
    }

    private async Task AddArtifactAsync(long containerId, string label, Artifact artifact, bool runAutomation, CancellationToken ct)
    {
        using var response = await PostAsync("artifact", ArtifactJson(containerId, label, artifact, runAutomation), ct);
        var answer = await ReadJsonAsync(response, ct);
        if (answer?["existing_artifact_id"] is not null)
        {
            return;
        }

        if (!DestinationClients.IsSuccess(response.StatusCode))
        {
            throw await DestinationClients.FailureAsync(response, $"POST /rest/artifact ({artifact.Name})", ct, notFoundIsThisContainer: true);
        }
    }

    private static JsonObject ArtifactJson(long? containerId, string label, Artifact artifact, bool runAutomation)
    {
        var json = ContainerJson.Artifact(artifact);
        json["label"] = label;
        json["run_automation"] = runAutomation;
        if (containerId is { } id)
        {
            json["container_id"] = id;
        }

        if (json["cef_types"] is null)
        {
            json.Remove("cef_types");
        }

        return json;
    }

    /// <summary>The values of <paramref name="fields"/> across a list answer's <c>data</c>.</summary>
    private async Task<HashSet<string>> ListAsync(string path, string[] fields, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_rest, path));
        using var response = await SendAsync(request, ct);
        if (!DestinationClients.IsSuccess(response.StatusCode))
        {
            throw await DestinationClients.FailureAsync(response, $"GET /rest/{path}", ct, notFoundIsThisContainer: true);
        }

        var answer = await ReadJsonAsync(response, ct);
        var values = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (answer?["data"] is JsonArray data)
        {
            foreach (var row in data.OfType<JsonObject>())
            {
                foreach (var field in fields)
                {
                    if (row[field] is JsonValue value && value.TryGetValue<string>(out var text))
                    {
                        values.Add(text);
                    }
                }
            }
        }

        return values;
    }

    private async Task<HttpResponseMessage> PostAsync(string path, JsonObject body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_rest, path))
        {
            Content = new StringContent(body.ToJsonString(Json), Encoding.UTF8, "application/json"),
        };
        return await SendAsync(request, ct);
    }

    private Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        request.Headers.Add("ph-auth-token", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return http.SendAsync(request, ct);
    }

    private static async Task<JsonNode?> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The body of <c>POST /rest/container_attachment</c>, its file streamed from the vault into base64 as it is sent,
    /// so a large attachment is never held in memory whole.
    /// </summary>
    private sealed class AttachmentContent : HttpContent
    {
        private readonly long _containerId;
        private readonly VaultFile _file;
        private readonly IVault _vault;

        public AttachmentContent(long containerId, VaultFile file, IVault vault)
        {
            _containerId = containerId;
            _file = file;
            _vault = vault;
            Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var head = new JsonObject
            {
                ["container_id"] = _containerId,
                ["file_name"] = _file.FileName,
                ["metadata"] = new JsonObject { ["contains"] = new JsonArray("vault id") },
            }.ToJsonString(Json);
            // {"container_id":..,"file_name":..,"metadata":..,"file_content":"<base64>"}
            await stream.WriteAsync(Encoding.UTF8.GetBytes(head[..^1] + ",\"file_content\":\""), cancellationToken);
            await using (var file = _vault.OpenRead(_file.VaultId)
                ?? throw new DestinationException("missing", $"vault file {_file.VaultId.Value} ({_file.FileName}) is not in the vault", retryable: false))
            await using (var base64 = new CryptoStream(new NonClosing(stream), new ToBase64Transform(), CryptoStreamMode.Write))
            {
                await file.CopyToAsync(base64, cancellationToken);
            }

            await stream.WriteAsync("\"}"u8.ToArray(), cancellationToken);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>A stream that leaves its inner stream open when it is disposed (the base64 stream's end must not close the request).</summary>
    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);
    }

    public void Dispose() => http.Dispose();
}
