using GpuDaemon.GrpcWire;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>A started gRPC server on a temp-dir socket plus a client for it, torn down together.</summary>
public sealed class ServerHarness : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();

    private ServerHarness(GrpcServiceMap services, GrpcServerOptions? options, TimeProvider? timeProvider)
    {
        SocketPath = _directory.File("plugin.sock");
        Server = new GrpcUnixServer(SocketPath, services, TestLogging.Factory, options, timeProvider);
        Client = new GrpcUnixClient(SocketPath);
    }

    public string SocketPath { get; }

    public GrpcUnixServer Server { get; }

    public GrpcUnixClient Client { get; }

    public static async Task<ServerHarness> StartAsync(GrpcServiceMap services, GrpcServerOptions? options = null, TimeProvider? timeProvider = null)
    {
        var harness = new ServerHarness(services, options, timeProvider);
        await harness.Server.StartAsync();
        return harness;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        _directory.Dispose();
    }
}
