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

    /// <summary>A header field longer than <c>ExtractionLimits.MaxHeaderFieldBytes</c> was cut before the MIME parse.</summary>
    public const string HeaderFieldLimit = "limit_header_field";

    /// <summary>Header fields beyond <c>ExtractionLimits.MaxHeaderFields</c> or <c>MaxHeaderBytes</c> were left out of the MIME parse.</summary>
    public const string HeadersLimit = "limit_headers";

    /// <summary>Preamble and epilogue lines beyond <c>ExtractionLimits.MaxPreambleBytes</c> were left out of the MIME parse.</summary>
    public const string PreambleLimit = "limit_preamble";

    /// <summary>A part larger than <c>ExtractionLimits.MaxBufferedPartBytes</c> that must be decoded whole (TNEF) was stored but not opened.</summary>
    public const string BufferedPartLimit = "limit_buffered_part";

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
