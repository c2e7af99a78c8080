namespace ImapActors.Extraction;

/// <summary>The codes of <see cref="ImapActors.Domain.IngestionIssue"/> that extraction reports.</summary>
public static class IssueCodes
{
    /// <summary>The bytes could not be parsed as a message; the container holds only what the source gives.</summary>
    public const string ParseFailed = "parse_failed";

    /// <summary>A part nested deeper than <c>ExtractionLimits.MaxMimeDepth</c> was skipped with everything below it.</summary>
    public const string MimeDepthLimit = "limit_mime_depth";

    /// <summary>The walk stopped after <c>ExtractionLimits.MaxParts</c> parts.</summary>
    public const string PartLimit = "limit_parts";

    /// <summary>More than <c>ExtractionLimits.MaxDecodedBytes</c> would have been decoded; the rest was skipped.</summary>
    public const string DecodedBytesLimit = "limit_decoded_bytes";

    /// <summary>Body text beyond <c>ExtractionLimits.MaxScannedTextBytes</c> was not scanned for indicators.</summary>
    public const string ScannedTextLimit = "limit_scanned_text";

    /// <summary>Artifacts beyond <c>ExtractionLimits.MaxArtifacts</c> were dropped.</summary>
    public const string ArtifactLimit = "limit_artifacts";

    /// <summary>Extraction stopped after <c>ExtractionLimits.MaxTime</c>.</summary>
    public const string TimeLimit = "limit_time";

    /// <summary>One part could not be read or decoded; the others were extracted.</summary>
    public const string PartFailed = "part_failed";

    /// <summary>An attachment could not be stored in the vault.</summary>
    public const string AttachmentFailed = "attachment_failed";

    /// <summary>
    /// An attachment's file name held bidirectional-control or line-separator characters, which make a name display
    /// as another (<c>invoice\u202Egpj.exe</c>); they were replaced in <c>fileName</c>, the name as sent is in
    /// <c>originalFileName</c>.
    /// </summary>
    public const string FileNameSpoofing = "file_name_spoofing";
}
