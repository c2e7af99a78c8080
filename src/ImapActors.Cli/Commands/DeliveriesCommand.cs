using System.CommandLine;
using System.Globalization;
using ImapActors.Storage;

namespace ImapActors.Cli.Commands;

/// <summary>
/// <c>imapactors deliveries list|retry</c>: the outbox of containers on their way to the configured destinations.
/// Works on the store alone: a running engine sends what a retry makes due within a second.
/// </summary>
internal static class DeliveriesCommand
{
    public static Command Create()
    {
        var listConfig = CliSupport.ConfigOption();
        var state = new Option<string?>("--state")
        {
            Description = "Only deliveries in this state: pending (not delivered yet), failed (pending after a failed attempt), delivered or dead.",
        };
        state.AcceptOnlyFromAmong("pending", "failed", "delivered", "dead");
        var destination = new Option<string?>("--destination") { Description = "Only deliveries to this destination." };
        var json = new Option<bool>("--json") { Description = "One JSON object per line instead of a table." };
        var limit = new Option<int>("--limit") { Description = "At most this many rows (oldest first).", DefaultValueFactory = _ => 1000 };
        var list = new Command("list", "List deliveries with their destination, state, attempts and last error.")
        {
            listConfig, state, destination, json, limit,
        };
        list.SetAction((r, ct) => ListAsync(r.GetValue(listConfig)!, r.GetValue(state), r.GetValue(destination), r.GetValue(json),
            r.GetValue(limit), ct));

        var retryConfig = CliSupport.ConfigOption();
        var id = new Argument<long?>("ID") { Description = "The delivery id (deliveries list).", Arity = ArgumentArity.ZeroOrOne };
        var dead = new Option<bool>("--dead") { Description = "Every dead delivery (of --destination when given)." };
        var retryDestination = new Option<string?>("--destination") { Description = "With --dead: only this destination's." };
        var retry = new Command("retry", "Make a dead or failing delivery due now, its attempts counted anew.")
        {
            retryConfig, id, dead, retryDestination,
        };
        retry.Validators.Add(r =>
        {
            if (r.GetValue(id) is null == !r.GetValue(dead))
            {
                r.AddError("Give either a delivery ID or --dead.");
            }
        });
        retry.SetAction((r, ct) => RetryAsync(r.GetValue(retryConfig)!, r.GetValue(id), r.GetValue(retryDestination), ct));

        return new Command("deliveries", "Inspect and retry the deliveries of containers to their destinations (SOAR, webhooks).") { list, retry };
    }

    private static async Task<int> ListAsync(FileInfo configFile, string? state, string? destination, bool json, int limit,
        CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        var rows = await store.ListDeliveriesAsync(DeliveryFilters.Parse(state) ?? DeliveryFilter.All, destination, 0, Math.Max(1, limit), cancellationToken);
        if (json)
        {
            foreach (var row in rows)
            {
                Console.WriteLine(DeliveryJson.ToJson(row).ToJsonString());
            }

            return 0;
        }

        Console.Write(ContainersCommand.Table(
            ["ID", "CONTAINER", "DESTINATION", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "REMOTE", "CREATED", "ERROR"],
            rows.Select(d => new[]
            {
                d.Id.ToString(CultureInfo.InvariantCulture), d.ContainerId.ToString(CultureInfo.InvariantCulture), d.Destination, d.StateName,
                d.Attempts.ToString(CultureInfo.InvariantCulture),
                d.State == DeliveryState.Pending ? d.NextAttemptAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-",
                d.RemoteId ?? "-", d.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), ContainersCommand.Clip(d.LastError ?? "", 80),
            })));
        Console.WriteLine($"{rows.Count} deliveries");
        return 0;
    }

    private static async Task<int> RetryAsync(FileInfo configFile, long? id, string? destination, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        if (id is { } one)
        {
            var delivery = await store.GetDeliveryAsync(one, cancellationToken);
            if (delivery is null)
            {
                await Console.Error.WriteLineAsync($"No delivery {one}; `imapactors deliveries list` shows them.");
                return 1;
            }

            if (delivery.State == DeliveryState.Delivered)
            {
                await Console.Error.WriteLineAsync($"Delivery {one} (container {delivery.ContainerId} to {delivery.Destination}) is delivered already.");
                return 1;
            }
        }

        var count = await store.RetryDeliveriesAsync(id, destination, cancellationToken);
        Console.WriteLine(id is { } n
            ? $"Delivery {n} is due now; a running engine sends it within a second."
            : $"{count} dead deliveries are due now; a running engine sends them within a second.");
        return 0;
    }
}
