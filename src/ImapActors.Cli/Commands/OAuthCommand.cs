using System.CommandLine;
using ImapActors.Configuration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Mail;
using ImapActors.Mail.OAuth;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors oauth authorize --config FILE --asset NAME</c>: the one-time sign-in of an OAuth asset.</summary>
internal static class OAuthCommand
{
    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var asset = new Option<string>("--asset", "-a") { Description = "The asset to sign in (a key of imapactors.assets).", Required = true };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "How long to wait for the browser's redirect (e.g. 00:05:00).",
            DefaultValueFactory = _ => AuthorizationCodeFlow.DefaultTimeout,
        };
        var authorize = new Command("authorize",
            "Sign in once with the authorization-code flow (PKCE): prints a URL to open, receives the redirect on " +
            "http://127.0.0.1:redirect_port/, and stores the encrypted tokens the engine then refreshes by itself.")
        {
            config, asset, timeout,
        };
        authorize.SetAction((result, cancellationToken) =>
            AuthorizeAsync(result.GetValue(config)!, result.GetValue(asset)!, result.GetValue(timeout), Console.Out, Console.Error, cancellationToken));
        return new Command("oauth", "OAuth 2.0 sign-in for assets with auth_type = OAuth.") { authorize };
    }

    internal static async Task<int> AuthorizeAsync(FileInfo configFile, string assetName, TimeSpan timeout, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        var configuration = CliSupport.LoadConfiguration(configFile);
        if (configuration is null)
        {
            return CliSupport.UsageError;
        }

        var settings = configuration.Engine;
        var asset = settings.Assets.FirstOrDefault(a => a.Name.Value == assetName);
        if (asset is null)
        {
            await error.WriteLineAsync($"No asset '{assetName}' in '{configFile.FullName}'; assets: {string.Join(", ", settings.Assets.Select(a => a.Name.Value))}.");
            return CliSupport.UsageError;
        }

        if (asset.AuthType != AuthType.OAuth || asset.OAuth is null)
        {
            await error.WriteLineAsync($"Asset '{assetName}' does not use OAuth (auth_type = {asset.AuthType}).");
            return CliSupport.UsageError;
        }

        try
        {
            var store = AccessTokens.OpenStore(configuration);
            using var owned = store as IDisposable;
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var client = new OAuthTokenClient(http, asset.OAuth);
            await AuthorizationCodeFlow.RunAsync(asset, client, store, url =>
            {
                output.WriteLine($"Open this URL in a browser and sign in as {asset.Username} to authorize asset '{assetName}':");
                output.WriteLine(url);
                output.WriteLine($"Waiting up to {timeout.TotalMinutes:0.#} min for the redirect to {AuthorizationCodeFlow.RedirectUri(asset.OAuth.RedirectPort)} ...");
                output.Flush();
            }, timeout, cancellationToken);
            await output.WriteLineAsync($"Signed in: the tokens of asset '{assetName}' are stored, encrypted: {store.Describe(asset.Name)}.");
            return 0;
        }
        catch (ConfigurationException e)
        {
            await error.WriteLineAsync($"Configuration '{configFile.FullName}' refused:{Environment.NewLine}{e.Message}");
            return CliSupport.UsageError;
        }
        catch (OAuthException e)
        {
            await error.WriteLineAsync($"OAuth sign-in failed: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// The token providers of the assets, for every command that logs in. An authorization_code asset without a usable
    /// token-store key stops the command before anything starts: the reason and how to make a key are printed, and null
    /// is returned so the command exits with a usage error.
    /// </summary>
    internal static AccessTokens? TokensFor(LoadedConfiguration configuration, FileInfo configFile)
    {
        try
        {
            return AccessTokens.FromConfiguration(configuration, configFile.FullName);
        }
        catch (Exception e) when (e is OAuthException or ConfigurationException)
        {
            Console.Error.WriteLine($"Cannot start: {e.Message}");
            return null;
        }
    }
}
