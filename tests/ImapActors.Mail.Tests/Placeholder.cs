namespace ImapActors.Mail.Tests;
