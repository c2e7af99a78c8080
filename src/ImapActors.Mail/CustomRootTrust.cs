using System.Security.Cryptography.X509Certificates;

namespace ImapActors.Mail;

/// <summary>
/// Whether a server's certificate chains to one of the extra trusted certificate authorities of a <c>ca_file</c>: the
/// check of an IMAP asset's certificate and of a delivery destination's.
/// </summary>
public static class CustomRootTrust
{
    /// <summary>
    /// Null when <paramref name="certificate"/> chains to one of <paramref name="roots"/> (with the intermediates the
    /// server presented in <paramref name="presented"/>); otherwise what is wrong with the chain.
    /// </summary>
    public static string? ChainStatus(X509Certificate2Collection roots, X509Certificate certificate, X509Chain? presented)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(certificate);
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (custom.Build(leaf))
        {
            return null;
        }

        var status = string.Join(", ", custom.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct());
        return status.Length == 0 ? "chain error" : status;
    }
}
