using System.Net;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;

namespace ImapActors.Http;

/// <summary>
/// The HTTP API, health, metrics and console of a running engine: Kestrel in the engine's process, started once the
/// actor system runs and stopped before it, with the engine's own services (the store, the vault, the actions, the
/// ingestion) behind its endpoints. Configured by <c>imapactors.http</c> alone: no environment variable or
/// appsettings file of ASP.NET Core changes where it listens.
/// </summary>
public sealed class HttpApiServer(IServiceProvider engine) : IHostedService, IAsyncDisposable
{
    // Made with the server, which the host makes before it starts any of its services: the meter listener then sees
    // the stage timings of the very first emails, not only those after the first scrape.
    private readonly EngineMetrics _metrics = new(engine);
    private WebApplication? _app;

    /// <summary>Where it listens, once started (a port of 0 in the configuration shows here as the port taken).</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = engine.GetRequiredService<EngineSettings>();
        var http = settings.Http;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(HttpApiServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.AddProvider(new SerilogLoggerProvider(Log.Logger)).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            void Listen(ListenOptions listen)
            {
                if (http.TlsCertificateFile is { } file)
                {
                    listen.UseHttps(LoadCertificate(file, http.TlsKeyFile, http.TlsPassword?.Current()));
                }
            }

            if (http.Bind == "localhost")
            {
                kestrel.ListenLocalhost(http.Port, Listen);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(http.Bind), http.Port, Listen);
            }
        });
        builder.Services.AddRoutingCore();
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = HttpJson.Options.PropertyNamingPolicy;
            o.SerializerOptions.Encoder = HttpJson.Options.Encoder;
        });
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "ImapActors";
            document.Info.Description = "The HTTP API of an ImapActors engine: mailboxes, containers, vault files, the actions and the quarantine.";
            return Task.CompletedTask;
        }));

        // The engine's services, the same instances its actors and CLI verbs use.
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(engine.GetRequiredService<ActorSystem>());
        builder.Services.AddSingleton(engine.GetRequiredService<IContainerStore>());
        builder.Services.AddSingleton(engine.GetRequiredService<IVault>());
        builder.Services.AddSingleton(engine.GetRequiredService<IngestionService>());
        builder.Services.AddSingleton(engine.GetRequiredService<TestConnectivity>());
        builder.Services.AddSingleton(engine.GetRequiredService<GetEmail>());
        builder.Services.AddSingleton(engine.GetRequiredService<PollNow>());
        builder.Services.AddSingleton(engine.GetRequiredService<QuarantineRetry>());
        builder.Services.AddSingleton(new ApiKeyRing(settings.ApiKeys));
        builder.Services.AddSingleton<ReadinessChecks>();
        builder.Services.AddSingleton(_metrics);
        builder.Services.AddSingleton(new Console.ConsoleSessions(TimeProvider.System));

        var app = builder.Build();
        app.UseRouting();
        ApiEndpoints.Map(app, http.MetricsRequireKey);
        Console.ConsolePages.Map(app);
        app.MapOpenApi("/api/v1/openapi.json");
        await app.StartAsync(cancellationToken);
        _app = app;

        Addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("[::]", "localhost", StringComparison.Ordinal))).ToList();
        Log.Information("HTTP API listening on {Addresses} with {Keys} API keys", string.Join(", ", Addresses), settings.ApiKeys.Count);
        if (settings.ApiKeys.Count == 0)
        {
            Log.Warning("HTTP API: no API key is configured (imapactors.api-keys): only /api/v1/health, /api/v1/ready and, unless metrics-require-key, /metrics answer");
        }

        if (http.TlsCertificateFile is null && http.Bind is not ("127.0.0.1" or "::1" or "localhost"))
        {
            Log.Warning("HTTP API: plain HTTP on {Bind}: API keys cross the network in clear; set imapactors.http.tls or serve it behind a TLS proxy", http.Bind);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }

        _metrics.Dispose();
    }

    /// <summary>A PEM certificate (with its key in <paramref name="keyFile"/> or in the same file) or a PKCS#12 file.</summary>
    private static X509Certificate2 LoadCertificate(string file, string? keyFile, string? password)
    {
        var text = File.ReadAllText(file);
        if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            var key = keyFile ?? file;
            var pem = password is null
                ? X509Certificate2.CreateFromPemFile(file, key)
                : X509Certificate2.CreateFromEncryptedPemFile(file, password, key);

            // Kestrel on Linux needs the key in a form it can hand to the TLS stack; an exported and re-imported PKCS#12 is.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }

        return X509CertificateLoader.LoadPkcs12FromFile(file, password);
    }
}

/// <summary>Adds the HTTP API to an engine host.</summary>
public static class HttpApiComposition
{
    /// <summary>The HTTP API as a hosted service of the engine's host (registered after the actor system, so it starts after it).</summary>
    public static IServiceCollection AddHttpApi(this IServiceCollection services)
    {
        services.AddSingleton<HttpApiServer>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpApiServer>());
        return services;
    }
}
