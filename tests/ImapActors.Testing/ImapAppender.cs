using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ImapActors.Domain;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;

namespace ImapActors.Testing;

/// <summary>Puts a message into a test mailbox with IMAP APPEND over its own connection, as a mail client would.</summary>
public static class ImapAppender
{
    /// <summary>Appends <paramref name="message"/> to <paramref name="folder"/> (which must exist) of the asset's mailbox.</summary>
    /// <param name="asset">The server, port, TLS and password login of the mailbox.</param>
    /// <param name="folder">The full folder name; <c>inbox</c> in any case is INBOX.</param>
    /// <param name="message">The RFC 822 bytes, CRLF line endings for a byte-identical round trip.</param>
    /// <param name="cancellationToken">Cancels the connect, login and append.</param>
    /// <param name="internalDate">The INTERNALDATE the server is to give it; null: now.</param>
    /// <returns>The new message's UID when the server reports it (UIDPLUS), else null.</returns>
    public static async Task<uint?> AppendAsync(AssetSettings asset, string folder, byte[] message, CancellationToken cancellationToken,
        DateTimeOffset? internalDate = null)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(message);

        using var client = new ImapClient();
        client.Timeout = (int)Math.Clamp(asset.Timeout.TotalMilliseconds, 1, int.MaxValue);

        if (!string.IsNullOrEmpty(asset.CaFile))
        {
            // The private test CA publishes no revocation list.
            client.CheckCertificateRevocation = false;
            client.ServerCertificateValidationCallback = (_, certificate, _, errors) => TrustedByCaFile(certificate, errors, asset.CaFile);
        }

        var options = asset.UseSsl ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls;
        await client.ConnectAsync(asset.Server, asset.Port, options, cancellationToken).ConfigureAwait(false);
        await client.AuthenticateAsync(new NetworkCredential(asset.Username, asset.Password?.Value ?? string.Empty), cancellationToken)
            .ConfigureAwait(false);

        IMailFolder target = string.Equals(folder, "INBOX", StringComparison.OrdinalIgnoreCase)
            ? client.Inbox
            : await client.GetFolderAsync(folder, cancellationToken).ConfigureAwait(false);
        using var stream = new MemoryStream(message, writable: false);
        var mime = await MimeMessage.LoadAsync(stream, cancellationToken).ConfigureAwait(false);
        var uid = await target.AppendAsync(new AppendRequest(mime) { InternalDate = internalDate }, cancellationToken).ConfigureAwait(false);
        await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        return uid?.Id;
    }

    private static bool TrustedByCaFile(X509Certificate? certificate, SslPolicyErrors errors, string caFile)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || errors != SslPolicyErrors.RemoteCertificateChainErrors)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.ImportFromPemFile(caFile);
        return chain.Build(leaf);
    }
}
