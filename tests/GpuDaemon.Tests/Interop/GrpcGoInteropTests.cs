using GpuDaemon.DevicePlugin.Api;
using System.Diagnostics;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Interop;

/// <summary>Our gRPC server and client against grpc-go (tests/interop), both directions.</summary>
public sealed class GrpcGoInteropTests
{
    [Fact]
    public async Task GoClient_AgainstOurServer_AllChecksPass()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map());

        using var process = Process.Start(GoInteropPeer.StartInfo(binary, "client", "--socket", harness.SocketPath))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var report = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, "grpc-go client reported failures:\n" + report);
        Assert.Contains("interop client: 10 passed, 0 failed", report, StringComparison.Ordinal);
        // grpc-go stops waiting on its own timer; the server's handlers see the cancel and deadline a moment later.
        await service.StreamCancelled.WaitAsync(TimeSpan.FromSeconds(10));
        await service.DeadlineCancelled.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("localhost", service.LastAuthority);
    }

    [Fact]
    public async Task OurClient_AgainstGoRegistrationServer_RegistersAndReadsErrors()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var dir = new TempDirectory();
        var socket = dir.File("kubelet.sock");
        using var process = Process.Start(GoInteropPeer.StartInfo(binary, "server", "--socket", socket))!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var listening = await ReadLineAsync(process);
            Assert.Equal($"LISTENING {socket}", listening);
            using var client = new GrpcUnixClient(socket);

            await client.UnaryAsync(DevicePluginApi.Register, new RegisterRequest
            {
                Version = "v1beta1",
                Endpoint = "gpudaemon-nvidia-gpu.sock",
                ResourceName = "nvidia.com/gpu",
                Options = new DevicePluginOptions { GetPreferredAllocationAvailable = true },
            }, TimeSpan.FromSeconds(10));
            var registered = await ReadLineAsync(process);
            var badVersion = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(DevicePluginApi.Register, new RegisterRequest
            {
                Version = "v1alpha",
                ResourceName = "nvidia.com/gpu",
            }));
            var badName = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(DevicePluginApi.Register, new RegisterRequest
            {
                Version = "v1beta1",
                ResourceName = "gpu",
            }));

            Assert.Equal("REGISTERED gpudaemon-nvidia-gpu.sock nvidia.com/gpu pre_start=false preferred=true", registered);
            Assert.Equal(GrpcStatusCode.InvalidArgument, badVersion.StatusCode);
            Assert.Equal("unsupported version v1alpha", badVersion.Detail);
            Assert.Equal(GrpcStatusCode.InvalidArgument, badName.StatusCode);
            Assert.Equal("invalid resource name gpu", badName.Detail);
        }
        finally
        {
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
        }

        Assert.True(process.ExitCode == 0, "grpc-go server exited with " + process.ExitCode + ": " + await stderr);
    }

    private static async Task<string?> ReadLineAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await process.StandardOutput.ReadLineAsync(timeout.Token);
    }
}
