using System.Text.Json.Nodes;

namespace ImapActors.Http;

/// <summary>
/// The reference's action result, as a SOAR playbook reads it: <c>status</c> (<c>success</c> or <c>failed</c>),
/// <c>message</c>, <c>data</c> (a list), <c>summary</c> and <c>parameter</c> (what the action was called with); the
/// engine adds <c>progress</c>, the messages the action sent on its way.
/// </summary>
internal static class ActionResultJson
{
    public static JsonObject Success(string message, JsonArray? data = null, JsonObject? summary = null, JsonObject? parameter = null,
        IEnumerable<string>? progress = null) =>
        Build("success", message, data, summary, parameter, progress);

    public static JsonObject Failure(string message, JsonObject? parameter = null, IEnumerable<string>? progress = null) =>
        Build("failed", message, null, null, parameter, progress);

    private static JsonObject Build(string status, string message, JsonArray? data, JsonObject? summary, JsonObject? parameter,
        IEnumerable<string>? progress)
    {
        var result = new JsonObject
        {
            ["status"] = status,
            ["message"] = message,
            ["data"] = data ?? [],
            ["summary"] = summary ?? [],
            ["parameter"] = parameter ?? [],
        };
        if (progress is not null)
        {
            result["progress"] = new JsonArray([.. progress.Select(p => (JsonNode?)p)]);
        }

        return result;
    }
}
