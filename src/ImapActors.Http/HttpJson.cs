using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ImapActors.Http;

/// <summary>The API's JSON: snake_case names, as SOAR's, and text as typed (no escaping of non-ASCII letters).</summary>
internal static class HttpJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A JSON answer in these options.</summary>
    public static IResult Result(object value, int? statusCode = null) => Results.Json(value, Options, statusCode: statusCode);
}
