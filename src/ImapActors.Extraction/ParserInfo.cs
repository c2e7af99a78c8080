namespace ImapActors.Extraction;

/// <summary>Identifies the extraction rules, so a quarantined message records which parser rejected it.</summary>
public static class ParserInfo
{
    /// <summary>The extraction rules' version: raised whenever a message would now give different artifacts.</summary>
    public const string Version = "imapactors-extract/1.0 (mimekit 4.18.2; soar-imap 5.0.0 data model)";
}
