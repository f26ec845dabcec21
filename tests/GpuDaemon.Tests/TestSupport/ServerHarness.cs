using GpuDaemon.GrpcWire;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>A started gRPC server on a temp-dir socket plus a client for it, torn down together.</summary>
public sealed class ServerHarness : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();

    private ServerHarness(GrpcServiceMap services, GrpcServerOptions? options, TimeProvider? timeProvider, ILoggerFactory? loggerFactory)
    {
        SocketPath = _directory.File("plugin.sock");
        Server = new GrpcUnixServer(SocketPath, services, loggerFactory ?? TestLogging.Factory, options, timeProvider);
        Client = new GrpcUnixClient(SocketPath);
    }

    public string SocketPath { get; }

    public GrpcUnixServer Server { get; }

    public GrpcUnixClient Client { get; }

    public static async Task<ServerHarness> StartAsync(GrpcServiceMap services, GrpcServerOptions? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        var harness = new ServerHarness(services, options, timeProvider, loggerFactory);
        await harness.Server.StartAsync();
        return harness;
    }

    /// <summary>
    /// Waits, boundedly, until <paramref name="condition"/> holds: for server-side counters that settle a moment
    /// after the client has seen the outcome. Fails the test with <paramref name="what"/> if it never does.
    /// </summary>
    public static async Task SettlesAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(5);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        _directory.Dispose();
    }
}
