using ImapActors.Domain;
using ImapActors.Extraction.Internal;

namespace ImapActors.Extraction.Tests;

/// <summary>The parts of one message's extraction on their own: the shared context, the indicators, inline forwards.</summary>
public class ExtractionPartsTests
{
    private static MessageContext Context(int maxArtifacts = 100)
    {
        var limits = new ExtractionLimits { MaxArtifacts = maxArtifacts };
        return new(ExtractionSettings.Default with { Limits = limits }, 7, new Budget(limits));
    }

    [Fact]
    public void The_artifact_limit_counts_what_fits_and_records_one_issue_for_all_that_does_not()
    {
        var context = Context(maxArtifacts: 2);

        Assert.Equal([true, true, false, false], Enumerable.Range(0, 4).Select(_ => context.TryCountArtifact()).ToArray());
        Assert.Equal(IssueCodes.ArtifactLimit, Assert.Single(context.Issues).Code);
    }

    [Fact]
    public void An_issue_code_is_recorded_once_with_its_first_detail()
    {
        var context = Context();

        context.AddIssue(IssueCodes.PartFailed, "first");
        context.AddIssue(IssueCodes.PartFailed, "second");

        Assert.Equal("first", Assert.Single(context.Issues).Detail);
    }

    [Fact]
    public void A_source_data_identifier_is_new_only_the_first_time()
    {
        var context = Context();

        Assert.True(context.AddSdi("a"));
        Assert.False(context.AddSdi("a"));
        Assert.True(context.AddSdi("b"));
    }

    [Fact]
    public void A_repeated_indicator_uses_no_artifact_slot()
    {
        var context = Context(maxArtifacts: 2);
        var indicators = new Indicators(context);

        indicators.Scan("from 192.0.2.1, again 192.0.2.1, then 192.0.2.2");
        Assert.Equal(["192.0.2.1", "192.0.2.2"], indicators.Ips);
        Assert.Empty(context.Issues);

        indicators.Scan("and 192.0.2.3");
        Assert.Equal(["192.0.2.1", "192.0.2.2"], indicators.Ips);
        Assert.Equal(IssueCodes.ArtifactLimit, Assert.Single(context.Issues).Code);
    }

    [Fact]
    public void An_inline_forward_is_the_header_block_after_the_forwarded_message_line()
    {
        var fields = InlineForward.HeaderFields(
            "---------- Forwarded message ---------\r\nFrom: Mallory <m@evil.example>\r\n" +
            "To: alice@example.com,\r\n bob@example.com\r\nSubject: pay\r\n\r\nplease pay");

        Assert.Equal(
            [("From", "Mallory <m@evil.example>"), ("To", "alice@example.com,\n bob@example.com"), ("Subject", "pay")],
            fields);
    }

    [Theory]
    [InlineData("Hello,\nplease find the invoice attached.\nRegards: Bob")]
    [InlineData("")]
    public void A_body_that_neither_names_a_forward_nor_starts_with_a_field_has_no_header_block(string text)
    {
        Assert.Null(InlineForward.HeaderFields(text));
    }

    [Fact]
    public void A_forward_line_that_does_not_begin_the_header_block_gives_no_fields()
    {
        // Only a header block at the start of the text counts, as with the reference: the greeting before it stays.
        Assert.Empty(InlineForward.HeaderFields("Hi,\n---------- Forwarded message ---------\nFrom: m@evil.example\n")!);
    }
}
