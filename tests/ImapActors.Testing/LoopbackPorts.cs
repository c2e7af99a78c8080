using System.Net;
using System.Net.Sockets;

namespace ImapActors.Testing;

/// <summary>Loopback ports for tests that need one nobody listens on, or one to listen on themselves.</summary>
public static class LoopbackPorts
{
    /// <summary>A port the system just handed out and took back: free now, and closed until someone binds it.</summary>
    public static int Unused()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
