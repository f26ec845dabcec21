using System.Diagnostics;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.Interop;

/// <summary>Pod attribution against a grpc-go pod-resources server (tests/interop), as it runs against the kubelet.</summary>
public sealed class PodResourcesInteropTests
{
    [Fact]
    public async Task PodAttribution_AgainstGoPodResourcesServer_MapsSharedAndWholeGpus()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var dir = new TempDirectory();
        var socket = dir.File("kubelet.sock");
        string gpu0 = DefaultScenario.UuidFor(0), gpu1 = DefaultScenario.UuidFor(1);
        using var process = Process.Start(GoInteropPeer.StartInfo(binary, "podresources", "--socket", socket,
            "--pod", $"ml/train/main=nvidia.com/gpu.shared:{gpu0}::0,{gpu0}::1",
            "--pod", $"ml/infer/server=nvidia.com/gpu.shared:{gpu0}::2,{gpu1}::0",
            "--pod", "net/router/main=example.com/nic:eth1"))!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal($"LISTENING {socket}", await ReadLineAsync(process));
            var advertised = new FixedAdvertisedDevices(ResourcePlanner.Plan(Gpus.Inventory(2), new PluginOptions { Replicas = 4, RenameShared = true }));
            var options = new TestOptionsMonitor<PodAttributionOptions>(new PodAttributionOptions { SocketPath = socket });
            await using var service = new PodAttributionService(advertised, new PluginActivity(), options, TimeProvider.System, NullLogger<PodAttributionService>.Instance);

            await service.StartAsync(default);
            Assert.Equal("LIST 1", await ReadLineAsync(process));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                var seen = service.Progress.Version;
                if (service.Up)
                {
                    break;
                }

                await service.Progress.WaitForChangeAsync(seen, timeout.Token);
            }

            Assert.Equal([new PodContainer("ml", "infer", "server"), new PodContainer("ml", "train", "main")], service.ContainersByDevice[gpu0]);
            Assert.Equal([new PodContainer("ml", "infer", "server")], service.ContainersByDevice[gpu1]);
            Assert.Equal(2, service.ContainersByDevice.Count);
        }
        finally
        {
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
        }

        Assert.True(process.ExitCode == 0, "grpc-go pod-resources server exited with " + process.ExitCode + ": " + await stderr);
    }

    private static async Task<string?> ReadLineAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await process.StandardOutput.ReadLineAsync(timeout.Token);
    }
}
