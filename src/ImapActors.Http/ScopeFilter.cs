using System.Text.Json.Nodes;
using ImapActors.Domain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serilog;

namespace ImapActors.Http;

/// <summary>
/// Lets a request through only with an API key that has the endpoint's scope: 401 (and <c>WWW-Authenticate: Bearer</c>)
/// without a key or with one no one configured, 403 with a key that lacks the scope. Neither answer nor log line shows
/// the key presented.
/// </summary>
internal sealed class ScopeFilter(ApiScopes scope) : IEndpointFilter
{
    /// <summary>Where the filter leaves the <see cref="ApiCaller"/> for the endpoint (its audit line names the key).</summary>
    public const string CallerItem = "imapactors.api-caller";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var ring = http.RequestServices.GetRequiredService<ApiKeyRing>();
        var caller = ring.Find(ApiKeyRing.BearerKey(http.Request.Headers.Authorization));
        if (caller is null)
        {
            Log.Information("HTTP API: {Method} {Path} from {Remote} refused (401): no valid API key",
                http.Request.Method, http.Request.Path.Value, http.Connection.RemoteIpAddress);
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return HttpJson.Result(new JsonObject
            {
                ["status"] = "failed",
                ["message"] = "An API key is required: send Authorization: Bearer KEY with a key of imapactors.api-keys",
            }, statusCode: StatusCodes.Status401Unauthorized);
        }

        if (!caller.May(scope))
        {
            var needed = scope.ToString().ToLowerInvariant();
            Log.Information("HTTP API: {Method} {Path} by key {Caller} refused (403): it lacks the {Scope} scope",
                http.Request.Method, http.Request.Path.Value, caller.Name, needed);
            return HttpJson.Result(new JsonObject
            {
                ["status"] = "failed",
                ["message"] = $"The API key '{caller.Name}' lacks the {needed} scope this endpoint needs",
            }, statusCode: StatusCodes.Status403Forbidden);
        }

        http.Items[CallerItem] = caller;
        return await next(context);
    }
}

internal static class ScopeFilterExtensions
{
    public static RouteHandlerBuilder RequireScope(this RouteHandlerBuilder builder, ApiScopes scope) =>
        builder.AddEndpointFilter(new ScopeFilter(scope))
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
}
