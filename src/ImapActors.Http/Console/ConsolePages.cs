using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serilog;

namespace ImapActors.Http.Console;

/// <summary>
/// The web console, server-rendered HTML on the API's port: sign in with an API key, then the mailboxes (refreshed
/// live), the containers (paged, filtered, searched), a container (artifacts by type, vault files, the raw email) and
/// the quarantine (retry, with the act scope). The session is an HttpOnly SameSite=Strict cookie; every POST carries
/// the session's form token. Pages send a content security policy that allows only this origin's script and style.
/// </summary>
internal static class ConsolePages
{
    public const string SessionCookie = "imapactors_session";
    public const string SignInCookie = "imapactors_signin";
    private const int PageSize = 50;
    private const int RawDisplayLimit = 1024 * 1024;
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    // Nested artifact values (header lists) as people read them: indented, letters and '+' as they are.
    private static readonly System.Text.Json.JsonSerializerOptions IndentedJson = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http, ConsoleSessions sessions) =>
            Results.Redirect(Session(http, sessions) is null ? "/sign-in" : "/mailboxes")).ExcludeFromDescription();
        app.MapGet("/sign-in", SignInPage).ExcludeFromDescription();
        app.MapPost("/sign-in", SignInAsync).ExcludeFromDescription();
        app.MapPost("/sign-out", SignOutAsync).ExcludeFromDescription();
        app.MapGet("/mailboxes", MailboxesAsync).ExcludeFromDescription();
        app.MapGet("/mailboxes/rows", MailboxRowsAsync).ExcludeFromDescription();
        app.MapGet("/containers", ContainersAsync).ExcludeFromDescription();
        app.MapGet("/containers/{id}", ContainerAsync).ExcludeFromDescription();
        app.MapGet("/containers/{id}/raw", RawAsync).ExcludeFromDescription();
        app.MapGet("/vault/{vaultId}", VaultFileAsync).ExcludeFromDescription();
        app.MapGet("/quarantine", QuarantineAsync).ExcludeFromDescription();
        app.MapPost("/quarantine/{id}/retry", RetryAsync).ExcludeFromDescription();
        app.MapGet("/console.css", () => Asset("console.css", "text/css; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/console.js", () => Asset("console.js", "text/javascript; charset=utf-8")).ExcludeFromDescription();
    }

    /// <summary>Headers on every console answer: no framing, no sniffing, no referrer, no caching, own-origin content only.</summary>
    public static void SecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-store";
    }

    private static IResult SignInPage(HttpContext http, ApiKeyRing keys) => SignInForm(http, keys, null, StatusCodes.Status200OK);

    private static IResult SignInForm(HttpContext http, ApiKeyRing keys, string? error, int status)
    {
        // Double-submit token: the form and a cookie carry the same random value, which another site cannot read.
        var token = ConsoleSessions.NewToken();
        http.Response.Cookies.Append(SignInCookie, token, CookieOptions(http, TimeSpan.FromMinutes(30)));
        var body = new StringBuilder();
        body.Append("<div class=\"signin\"><h1>ImapActors console</h1>");
        if (error is not null)
        {
            body.Append("<p class=\"error\" id=\"sign-in-error\">").Append(E(error)).Append("</p>");
        }

        if (keys.Count == 0)
        {
            body.Append("<p class=\"error\">No API key is configured (imapactors.api-keys): nobody can sign in.</p>");
        }

        body.Append("<form method=\"post\" action=\"/sign-in\">")
            .Append("<input type=\"hidden\" name=\"_form\" value=\"").Append(E(token)).Append("\">")
            .Append("<label for=\"key\">API key</label>")
            .Append("<input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"current-password\" required autofocus>")
            .Append("<button type=\"submit\" id=\"sign-in\">Sign in</button></form>")
            .Append("<p class=\"muted\">A key of imapactors.api-keys: read shows mailboxes, containers and the quarantine; act also retries.</p></div>");
        return Page(http, "Sign in", null, body.ToString(), status);
    }

    private static async Task<IResult> SignInAsync(HttpContext http, ApiKeyRing keys, ConsoleSessions sessions)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var cookie = http.Request.Cookies[SignInCookie];
        if (cookie is null || !string.Equals(form["_form"].ToString(), cookie, StringComparison.Ordinal))
        {
            return SignInForm(http, keys, "The sign-in form expired; try again.", StatusCodes.Status400BadRequest);
        }

        var caller = keys.Find(form["key"].ToString().Trim());
        if (caller is null)
        {
            Log.Information("Console: sign-in from {Remote} refused: no such API key", http.Connection.RemoteIpAddress);
            return SignInForm(http, keys, "That key is not valid.", StatusCodes.Status401Unauthorized);
        }

        var session = sessions.Open(caller);
        Log.Information("Console: key {Caller} signed in from {Remote}", caller.Name, http.Connection.RemoteIpAddress);
        http.Response.Cookies.Delete(SignInCookie);
        http.Response.Cookies.Append(SessionCookie, session.Id, CookieOptions(http, ConsoleSessions.Lifetime));
        return Results.Redirect("/mailboxes");
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, ConsoleSessions sessions)
    {
        if (Session(http, sessions) is { } session && session.IsFormToken((await http.Request.ReadFormAsync(http.RequestAborted))["_form"]))
        {
            sessions.Close(session.Id);
        }

        http.Response.Cookies.Delete(SessionCookie);
        return Results.Redirect("/sign-in");
    }

    private static async Task<IResult> MailboxesAsync(HttpContext http, ConsoleSessions sessions, EngineSettings settings,
        IngestionService ingestion, IContainerStore store)
    {
        if (Require(http, sessions, ApiScopes.Read, out var session) is { } refused)
        {
            return refused;
        }

        var rows = await MailboxRowsHtmlAsync(settings, ingestion, store, http.RequestAborted);
        var body = $"""
            <h1>Mailboxes</h1>
            <p class="muted">Refreshed every 2 s; last at <span id="refreshed">{E(DateTimeOffset.Now.ToString("T", CultureInfo.InvariantCulture))}</span>.
            A mailbox is stale after three poll intervals without a successful poll.</p>
            <table id="mailboxes"><thead><tr><th>Asset</th><th>Folder</th><th>Node</th><th>State</th><th>UIDVALIDITY</th>
            <th>Committed</th><th>Lag</th><th>Last poll</th><th>Last error</th><th>Next retry</th></tr></thead>
            <tbody id="mailbox-rows">{rows}</tbody></table>
            <script src="/console.js"></script>
            """;
        return Page(http, "Mailboxes", session, body);
    }

    private static async Task<IResult> MailboxRowsAsync(HttpContext http, ConsoleSessions sessions, EngineSettings settings,
        IngestionService ingestion, IContainerStore store)
    {
        if (Require(http, sessions, ApiScopes.Read, out _) is { } refused)
        {
            return refused;
        }

        SecurityHeaders(http.Response);
        return Results.Content(await MailboxRowsHtmlAsync(settings, ingestion, store, http.RequestAborted), "text/html; charset=utf-8");
    }

    private static async Task<string> MailboxRowsHtmlAsync(EngineSettings settings, IngestionService ingestion, IContainerStore store,
        CancellationToken cancellationToken)
    {
        var rows = new StringBuilder();
        foreach (var m in await MailboxView.ListAsync(settings, ingestion, store, cancellationToken))
        {
            rows.Append("<tr data-mailbox=\"").Append(E($"{m.Asset}/{m.Folder}")).Append("\">")
                .Append(Td(m.Asset)).Append(Td(m.Folder)).Append(Td(m.Node ?? "-"))
                .Append("<td><span class=\"state state-").Append(E(m.State)).Append("\">").Append(E(m.State)).Append("</span></td>")
                .Append(Num(m.UidValidity?.ToString(CultureInfo.InvariantCulture)))
                .Append("<td class=\"num committed\">").Append(E(m.Committed?.ToString(CultureInfo.InvariantCulture) ?? "-")).Append("</td>")
                .Append("<td class=\"num lag\">").Append(E(m.Lag?.ToString(CultureInfo.InvariantCulture) ?? "-")).Append("</td>")
                .Append(Td(Time(m.LastPoll))).Append("<td class=\"wrap\">").Append(E(m.LastError ?? "")).Append("</td>").Append(Td(Time(m.NextRetry)))
                .Append("</tr>");
        }

        return rows.ToString();
    }

    private static async Task<IResult> ContainersAsync(HttpContext http, ConsoleSessions sessions, EngineSettings settings, IContainerStore store)
    {
        if (Require(http, sessions, ApiScopes.Read, out var session) is { } refused)
        {
            return refused;
        }

        var q = http.Request.Query;
        var asset = q["asset"].ToString();
        var label = q["label"].ToString().Trim();
        var search = q["search"].ToString().Trim();
        long? after = long.TryParse(q["after_id"], NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : null;
        var page = await store.QueryContainersAsync(new ContainerQuery
        {
            Asset = asset.Length > 0 ? asset : null,
            Label = label.Length > 0 ? label : null,
            Search = search.Length > 0 ? search : null,
            AfterId = after,
            Limit = PageSize,
        }, http.RequestAborted);

        var body = new StringBuilder("<h1>Containers</h1><form class=\"filters\" method=\"get\" action=\"/containers\">");
        body.Append("<label>Asset<select name=\"asset\" id=\"filter-asset\"><option value=\"\">all</option>");
        foreach (var name in settings.Assets.Select(s => s.Name.Value))
        {
            body.Append("<option value=\"").Append(E(name)).Append('"').Append(name == asset ? " selected" : "").Append('>').Append(E(name)).Append("</option>");
        }

        body.Append("</select></label>")
            .Append("<label>Label<input name=\"label\" id=\"filter-label\" value=\"").Append(E(label)).Append("\"></label>")
            .Append("<label>Subject or sender<input name=\"search\" id=\"filter-search\" type=\"search\" value=\"").Append(E(search)).Append("\"></label>")
            .Append("<button type=\"submit\" id=\"filter\">Filter</button></form>");
        body.Append("<table id=\"containers\"><thead><tr><th>ID</th><th>Subject</th><th>Asset</th><th>Folder</th><th>UID</th><th>Artifacts</th><th>Created</th><th>Node</th></tr></thead><tbody>");
        foreach (var c in page.Containers)
        {
            var link = $"/containers/{c.Id}";
            body.Append("<tr data-id=\"").Append(c.Id).Append("\">")
                .Append("<td><a href=\"").Append(E(link)).Append("\">").Append(c.Id).Append("</a></td>")
                .Append("<td class=\"wrap\"><a href=\"").Append(E(link)).Append("\">").Append(E(c.Name)).Append("</a></td>")
                .Append(Td(c.Asset)).Append(Td(c.Folder)).Append(Num(c.Uid.ToString(CultureInfo.InvariantCulture)))
                .Append(Num(c.ArtifactCount.ToString(CultureInfo.InvariantCulture))).Append(Td(Time(c.CreatedAt))).Append(Td(c.Node ?? "-"))
                .Append("</tr>");
        }

        body.Append("</tbody></table>");
        if (page.Containers.Count == 0)
        {
            body.Append("<p class=\"muted\">No container matches.</p>");
        }

        string Link(long? afterId) => "/containers?" + string.Join("&", new[]
        {
            asset.Length > 0 ? "asset=" + Uri.EscapeDataString(asset) : null,
            label.Length > 0 ? "label=" + Uri.EscapeDataString(label) : null,
            search.Length > 0 ? "search=" + Uri.EscapeDataString(search) : null,
            afterId is { } n ? "after_id=" + n.ToString(CultureInfo.InvariantCulture) : null,
        }.Where(p => p is not null));
        body.Append("<p class=\"pager\">");
        if (after is not null)
        {
            body.Append("<a href=\"").Append(E(Link(null))).Append("\">First page</a>");
        }

        if (page.NextAfterId is { } next)
        {
            body.Append("<a id=\"next-page\" href=\"").Append(E(Link(next))).Append("\">Next page</a>");
        }

        body.Append("</p>");
        return Page(http, "Containers", session, body.ToString());
    }

    private static async Task<IResult> ContainerAsync(string id, HttpContext http, ConsoleSessions sessions, IContainerStore store, IVault vault)
    {
        if (Require(http, sessions, ApiScopes.Read, out var session) is { } refused)
        {
            return refused;
        }

        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || await store.GetContainerAsync(number, http.RequestAborted) is not { } container)
        {
            return Page(http, "Not found", session, $"<h1>No container {E(id)}</h1>", StatusCodes.Status404NotFound);
        }

        var s = container.Summary;
        var body = new StringBuilder();
        body.Append("<h1 id=\"container-name\">").Append(E(s.Name)).Append("</h1><dl class=\"facts\">");
        void Fact(string name, string? value) => body.Append("<dt>").Append(E(name)).Append("</dt><dd>").Append(E(value ?? "-")).Append("</dd>");
        Fact("Container", s.Id.ToString(CultureInfo.InvariantCulture));
        Fact("Label", container.Label);
        Fact("Source data identifier", s.SourceDataIdentifier);
        Fact("Mailbox", $"{s.Asset} / {s.Folder}");
        Fact("UIDVALIDITY / UID", $"{s.UidValidity} / {s.Uid}");
        Fact("Message-ID", s.MessageId);
        Fact("Created", Time(s.CreatedAt));
        Fact("Node", s.Node);
        Fact("Raw email SHA-256", container.RawSha256);
        body.Append("</dl>");

        body.Append("<h2>Artifacts (").Append(container.Artifacts.Count).Append(")</h2>");
        foreach (var group in container.Artifacts.GroupBy(a => a.Name))
        {
            body.Append("<section class=\"artifacts\" data-type=\"").Append(E(group.Key)).Append("\"><h3>").Append(E(group.Key))
                .Append(" (").Append(group.Count()).Append(")</h3><table><thead><tr><th>Field</th><th>Value</th></tr></thead>");
            foreach (var artifact in group)
            {
                body.Append("<tbody class=\"artifact\">");
                foreach (var (key, value) in artifact.Cef)
                {
                    var plain = value is JsonValue v && v.TryGetValue<string>(out var str) ? str : null;
                    var text = plain ?? value?.ToJsonString(IndentedJson) ?? "null";
                    body.Append("<tr><td>").Append(E(key)).Append("</td><td class=\"").Append(plain is null ? "json" : "wrap").Append("\">")
                        .Append(E(Clip(text, 4000))).Append("</td></tr>");
                }

                if (artifact.RunAutomation)
                {
                    body.Append("<tr><td class=\"muted\">run_automation</td><td>true</td></tr>");
                }

                body.Append("</tbody>");
            }

            body.Append("</table></section>");
        }

        body.Append("<h2>Vault files (").Append(container.VaultFiles.Count).Append(")</h2>");
        if (container.VaultFiles.Count > 0)
        {
            body.Append("<table id=\"vault-files\"><thead><tr><th>File</th><th>Size</th><th>Vault id (SHA-1)</th><th>SHA-256</th></tr></thead><tbody>");
            foreach (var f in container.VaultFiles)
            {
                body.Append("<tr><td><a class=\"vault-file\" href=\"/vault/").Append(E(f.VaultId.Value)).Append("\" download>").Append(E(f.FileName)).Append("</a></td>")
                    .Append(Num(f.Size.ToString(CultureInfo.InvariantCulture))).Append(Td(f.VaultId.Value)).Append("<td class=\"wrap\">").Append(E(f.Sha256)).Append("</td></tr>");
            }

            body.Append("</tbody></table>");
        }

        body.Append("<h2>Raw email</h2><p><a id=\"raw-download\" href=\"/containers/").Append(s.Id).Append("/raw\" download>Download the raw email (.eml)</a></p>");
        var raw = StoredContainerJson.ReadRawEmail(vault, container);
        if (raw is null)
        {
            body.Append("<p class=\"error\">The raw email is missing from the vault.</p>");
        }
        else
        {
            body.Append("<details><summary>Show it</summary><pre class=\"raw\" id=\"raw-email\">").Append(E(Clip(raw, RawDisplayLimit))).Append("</pre></details>");
        }

        return Page(http, s.Name, session, body.ToString());
    }

    private static async Task<IResult> RawAsync(string id, HttpContext http, ConsoleSessions sessions, IContainerStore store, IVault vault)
    {
        if (Require(http, sessions, ApiScopes.Read, out _) is { } refused)
        {
            return refused;
        }

        SecurityHeaders(http.Response);
        return long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && await store.GetContainerAsync(number, http.RequestAborted) is { } container && container.OpenRawEmail(vault) is { } stream
                ? Results.Stream(stream, "message/rfc822", $"container-{number}.eml")
                : Results.NotFound();
    }

    private static async Task<IResult> VaultFileAsync(string vaultId, HttpContext http, ConsoleSessions sessions, IContainerStore store, IVault vault)
    {
        if (Require(http, sessions, ApiScopes.Read, out _) is { } refused)
        {
            return refused;
        }

        SecurityHeaders(http.Response);
        if (vaultId.Length != 40 || !vaultId.All(Uri.IsHexDigit))
        {
            return Results.NotFound();
        }

        var id = new VaultId(vaultId.ToLowerInvariant());

        // Always a download, never shown: an attachment is the phish, and must not run as a page of this origin.
        return await store.FindVaultFileAsync(id, http.RequestAborted) is { } file && vault.OpenRead(id) is { } stream
            ? Results.Stream(stream, "application/octet-stream", file.FileName)
            : Results.NotFound();
    }

    private static async Task<IResult> QuarantineAsync(HttpContext http, ConsoleSessions sessions, IContainerStore store)
    {
        if (Require(http, sessions, ApiScopes.Read, out var session) is { } refused)
        {
            return refused;
        }

        var all = http.Request.Query["all"] == "true";
        var rows = await store.ListQuarantineAsync(all, http.RequestAborted);
        var body = new StringBuilder("<h1>Quarantine</h1>");
        body.Append(all
            ? "<p><a href=\"/quarantine\">Unresolved only</a></p>"
            : "<p><a href=\"/quarantine?all=true\">Also those retried successfully</a></p>");
        body.Append("<table id=\"quarantine\"><thead><tr><th>ID</th><th>Asset</th><th>Folder</th><th>UIDVALIDITY</th><th>UID</th><th>Stage</th><th>Attempts</th><th>Error</th><th>Quarantined</th><th>Resolved</th><th></th></tr></thead><tbody>");
        var mayAct = session.Caller.May(ApiScopes.Act);
        foreach (var r in rows)
        {
            body.Append("<tr data-id=\"").Append(r.Id).Append("\">").Append(Num(r.Id.ToString(CultureInfo.InvariantCulture)))
                .Append(Td(r.Source.Asset.Value)).Append(Td(r.Source.Folder.Value)).Append(Num(r.Source.UidValidity.ToString(CultureInfo.InvariantCulture)))
                .Append(Num(r.Source.Uid.ToString(CultureInfo.InvariantCulture))).Append(Td(r.Stage)).Append(Num(r.Attempts.ToString(CultureInfo.InvariantCulture)))
                .Append("<td class=\"wrap\">").Append(E(Clip(r.Error, 600))).Append("</td>").Append(Td(Time(r.QuarantinedAt))).Append(Td(Time(r.ResolvedAt)))
                .Append("<td>");
            if (mayAct && r.ResolvedAt is null)
            {
                body.Append("<form method=\"post\" action=\"/quarantine/").Append(r.Id).Append("/retry\">").Append(FormToken(session))
                    .Append("<button type=\"submit\" class=\"retry\">Retry</button></form>");
            }

            body.Append("</td></tr>");
        }

        body.Append("</tbody></table>");
        if (rows.Count == 0)
        {
            body.Append("<p class=\"muted\" id=\"quarantine-empty\">Nothing in quarantine.</p>");
        }
        else if (!mayAct)
        {
            body.Append("<p class=\"muted\">Retrying needs a key with the act scope.</p>");
        }

        return Page(http, "Quarantine", session, body.ToString());
    }

    private static async Task<IResult> RetryAsync(string id, HttpContext http, ConsoleSessions sessions, IContainerStore store, QuarantineRetry retry)
    {
        if (Require(http, sessions, ApiScopes.Act, out var session) is { } refused)
        {
            return refused;
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (!session.IsFormToken(form["_form"]))
        {
            Log.Warning("Console: a retry for key {Caller} came without the session's form token (a forged request?); refused", session.Caller.Name);
            return Page(http, "Refused", session, "<p class=\"error\">This form is not from this session. Open the quarantine page and try again.</p>",
                StatusCodes.Status403Forbidden);
        }

        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || await store.GetQuarantinedAsync(number, http.RequestAborted) is not { } email)
        {
            session.Notice = $"No quarantined email {id}.";
            return Results.Redirect("/quarantine");
        }

        Log.Information("Console: key {Caller} retries quarantined email {Id} ({Mailbox} UID {Uid})", session.Caller.Name, number,
            email.Source.Mailbox, email.Source.Uid);
        var outcome = await retry.RetryAsync(email, http.RequestAborted);
        session.Notice = outcome.Succeeded
            ? $"Quarantined email {number} ingested: container {outcome.Result!.ContainerId} ({outcome.Result.Outcome})."
            : $"Quarantined email {number} was not ingested: {outcome.Error}";
        return Results.Redirect("/quarantine");
    }

    /// <summary>Null when the request's session has <paramref name="scope"/>; else the answer: the sign-in page, or 403.</summary>
    private static IResult? Require(HttpContext http, ConsoleSessions sessions, ApiScopes scope, out ConsoleSession session)
    {
        session = Session(http, sessions)!;
        if (session is null)
        {
            return Results.Redirect("/sign-in");
        }

        return session.Caller.May(scope)
            ? null
            : Page(http, "Refused", session, $"<p class=\"error\">The key '{E(session.Caller.Name)}' lacks the {scope.ToString().ToLowerInvariant()} scope this needs.</p>",
                StatusCodes.Status403Forbidden);
    }

    private static ConsoleSession? Session(HttpContext http, ConsoleSessions sessions) => sessions.Find(http.Request.Cookies[SessionCookie]);

    private static CookieOptions CookieOptions(HttpContext http, TimeSpan lifetime) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/",
        MaxAge = lifetime,
        IsEssential = true,
    };

    private static IResult Page(HttpContext http, string title, ConsoleSession? session, string body, int status = StatusCodes.Status200OK)
    {
        SecurityHeaders(http.Response);
        var html = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(title)).Append(" · ImapActors</title><link rel=\"stylesheet\" href=\"/console.css\"></head><body>");
        if (session is not null)
        {
            var path = http.Request.Path.Value ?? "/";
            string Nav(string href, string text) =>
                $"<a href=\"{href}\"{(path.StartsWith(href, StringComparison.Ordinal) ? " class=\"current\"" : "")}>{text}</a>";
            html.Append("<header><a class=\"brand\" href=\"/mailboxes\">ImapActors</a>")
                .Append(Nav("/mailboxes", "Mailboxes")).Append(Nav("/containers", "Containers")).Append(Nav("/quarantine", "Quarantine"))
                .Append("<form method=\"post\" action=\"/sign-out\"><span class=\"who\">").Append(E(session.Caller.Name)).Append("</span>")
                .Append(FormToken(session)).Append("<button type=\"submit\" id=\"sign-out\">Sign out</button></form></header>");
        }

        html.Append("<main>");
        if (session?.Notice is { } notice)
        {
            session.Notice = null;
            html.Append("<p class=\"notice\" id=\"notice\">").Append(E(notice)).Append("</p>");
        }

        html.Append(body).Append("</main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static string FormToken(ConsoleSession session) => $"<input type=\"hidden\" name=\"_form\" value=\"{E(session.FormToken)}\">";

    private static IResult Asset(string name, string contentType)
    {
        using var stream = typeof(ConsolePages).Assembly.GetManifestResourceStream($"ImapActors.Http.Console.{name}")
            ?? throw new InvalidOperationException($"the console's {name} is missing from the assembly");
        using var reader = new StreamReader(stream);
        return Results.Text(reader.ReadToEnd(), contentType);
    }

    private static string Td(string? text) => $"<td>{E(text ?? "")}</td>";

    private static string Num(string? text) => $"<td class=\"num\">{E(text ?? "-")}</td>";

    private static string Time(DateTimeOffset? at) => at?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) ?? "-";

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max] + $"… ({text.Length - max} more characters)";

    private static string E(string text) => Html.Encode(text);
}
