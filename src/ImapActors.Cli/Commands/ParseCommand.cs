using System.CommandLine;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors parse FILE...</c>: turns .eml files into containers and artifacts, printed as JSON lines.</summary>
internal static class ParseCommand
{
    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("FILE") { Arity = ArgumentArity.OneOrMore, Description = "RFC 822 files to parse." };
        var command = new Command("parse", "Parse .eml files and print one JSON object per file (JSON lines).") { files };
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("parse: not implemented yet");
            return 2;
        });
        return command;
    }
}
