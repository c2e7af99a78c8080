using System.CommandLine;
using ImapActors.Host.Actions;
using ImapActors.Domain;
using ImapActors.Mail;
using Serilog.Events;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors test-connectivity --config FILE --asset A</c>: connect, log in, list folders, EXAMINE each folder.</summary>
internal static class TestConnectivityCommand
{
    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var asset = new Option<string>("--asset", "-a") { Description = "The asset (as named in the configuration) to test.", Required = true };
        var command = new Command("test-connectivity",
            "Connect to an asset's server, log in, list folders and open each configured folder read-only; print why it fails.")
        {
            config, asset,
        };
        command.SetAction((r, ct) => RunAsync(r.GetValue(config)!, r.GetValue(asset)!, ct));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo configFile, string assetName, CancellationToken cancellationToken)
    {
        var configuration = CliSupport.LoadConfiguration(configFile);
        if (configuration is null || OAuthCommand.TokensFor(configuration, configFile) is not { } tokens)
        {
            return CliSupport.UsageError;
        }

        var settings = configuration.Engine;

        AssetSettings asset;
        try
        {
            asset = ActionSupport.FindAsset(settings, assetName);
        }
        catch (ActionFailedException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return CliSupport.UsageError;
        }

        CliSupport.ConfigureLogging(LogEventLevel.Warning);

        // OAuth sign-in is not wired into the command line yet: an OAuth asset fails with a message saying so.
        // The action needs no store and no actor system: its one dependency, the token providers, is all it is given.
        var result = await new TestConnectivity(tokens, ImapSessionFactory.Default).RunAsync(asset, Console.WriteLine, cancellationToken);
        if (result.Passed)
        {
            return 0;
        }

        Console.Error.WriteLine(result.Error);
        return 1;
    }
}
