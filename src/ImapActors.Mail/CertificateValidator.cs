using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ImapActors.Domain;

namespace ImapActors.Mail;

/// <summary>Checks the server certificate against the system roots plus the asset's CA file, and records why it failed.</summary>
internal sealed class CertificateValidator
{
    private readonly AssetSettings _asset;
    private readonly X509Certificate2Collection? _roots;

    public CertificateValidator(AssetSettings asset)
    {
        _asset = asset;
        if (!string.IsNullOrEmpty(asset.CaFile) && asset.VerifyServerCert)
        {
            try
            {
                _roots = [];
                _roots.ImportFromPemFile(asset.CaFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new ImapFailureException(ImapFailureCause.CertificateNotTrusted,
                    $"Cannot read the CA file '{asset.CaFile}' of asset '{asset.Name}': {ex.Message}", ex);
            }

            if (_roots.Count == 0)
            {
                throw new ImapFailureException(ImapFailureCause.CertificateNotTrusted,
                    $"The CA file '{asset.CaFile}' of asset '{asset.Name}' holds no PEM certificate");
            }
        }
    }

    public bool HasCustomRoots => _roots is not null;

    public (ImapFailureCause Cause, string Message)? Failure { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (!_asset.VerifyServerCert || errors == SslPolicyErrors.None)
        {
            return true;
        }

        var endpoint = $"{_asset.Server}:{_asset.Port}";
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            Failure = (ImapFailureCause.CertificateNotTrusted, $"{endpoint} presented no TLS certificate");
            return false;
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            var status = ChainStatus(certificate, chain);
            if (status is not null)
            {
                Failure = (ImapFailureCause.CertificateNotTrusted,
                    $"The TLS certificate of {endpoint} ({certificate.Subject}) is not trusted ({status}): "
                    + (_roots is null ? "give its CA in ca_file" : $"it does not chain to a CA in '{_asset.CaFile}'")
                    + ", or turn off verify_server_cert");
                return false;
            }
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            Failure = (ImapFailureCause.CertificateNameMismatch,
                $"The TLS certificate of {endpoint} ({certificate.Subject}) is not valid for the name '{_asset.Server}': connect by a name the certificate lists, or turn off verify_server_cert");
            return false;
        }

        return true;
    }

    /// <summary>Null when the certificate chains to one of the CA file's roots; otherwise what is wrong with the chain.</summary>
    private string? ChainStatus(X509Certificate certificate, X509Chain? presented)
    {
        var systemStatus = presented is null
            ? "chain error"
            : string.Join(", ", presented.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct());
        if (_roots is null)
        {
            return systemStatus.Length == 0 ? "chain error" : systemStatus;
        }

        return CustomRootTrust.ChainStatus(_roots, certificate, presented);
    }
}
