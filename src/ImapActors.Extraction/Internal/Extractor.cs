using ImapActors.Domain;

namespace ImapActors.Extraction.Internal;

/// <summary>Stage 2 for one message: the MIME walk, the artifacts and the vault writes. One instance per message.</summary>
/// <remarks>
/// The work is done by parts that each own one concern and share only the <see cref="MessageContext"/>: the walk hands
/// each MIME part to the body texts (which feed the indicators and inline forwards), the Email Artifacts or the
/// attachments, and the result puts what they collected in the container's order.
/// </remarks>
internal sealed class Extractor
{
    private readonly ParsedEmail _parsed;
    private readonly MessageContext _context;
    private readonly Indicators _indicators;
    private readonly EmailArtifacts _emails;
    private readonly Attachments _attachments;
    private readonly MimeWalk _walk;

    public Extractor(IVault vault, ParsedEmail parsed, ExtractionSettings settings)
    {
        _parsed = parsed;
        _context = new MessageContext(settings, parsed.Source.Uid, parsed.Budget.For(settings.Limits));
        foreach (var issue in parsed.Issues)
        {
            _context.AddIssue(issue.Code, issue.Detail);
        }

        _indicators = new Indicators(_context);
        _emails = new EmailArtifacts(_context);
        _attachments = new Attachments(_context, vault);
        _walk = new MimeWalk(_context, new BodyTexts(_context, _indicators, _emails), _emails, _attachments);
    }

    public ProcessedEmail Run(string label)
    {
        if (_parsed.Message is { } message)
        {
            try
            {
                _walk.Walk(message);
            }
            catch (LimitReachedException e)
            {
                // A limit ends the walk; what was extracted before it is kept, and the issue says what was not.
                _context.AddIssue(e.Code, e.Message);
            }
            finally
            {
                foreach (var resource in _context.Resources)
                {
                    resource.Dispose();
                }
            }
        }

        if (_context.Budget.ParseCutShort)
        {
            _context.AddIssue(IssueCodes.TimeLimit, $"the message took longer than {_context.Budget.MaxTime}; what was read by then was extracted");
        }

        return ExtractionResult.Build(_context, _parsed, label, _indicators, _emails, _attachments);
    }
}
