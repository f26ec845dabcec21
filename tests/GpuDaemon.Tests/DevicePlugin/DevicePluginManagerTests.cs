using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.GrpcWire;
using GpuDaemon.Health;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin;

public sealed class DevicePluginManagerTests
{
    private const string Gpu = "nvidia.com/gpu";

    [Fact]
    public async Task Run_WithKubelet_RegistersAndAdvertisesAllGpusWithNuma()
    {
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(8, TimeProvider.System, TestLogging.Logger));

        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 8);

        Assert.Equal("gpudaemon-nvidia.com-gpu.sock", plugin.Endpoint);
        Assert.True(plugin.Options.GetPreferredAllocationAvailable);
        Assert.False(plugin.Options.PreStartRequired);
        Assert.Equal(Enumerable.Range(0, 8).Select(DefaultScenario.UuidFor), plugin.Devices.Select(d => d.ID));
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], plugin.Devices.Select(d => d.Topology.Nodes.Single().ID));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(harness.Dir.Path, plugin.Endpoint)));
    }

    [Fact]
    public async Task Run_PreferredThenAllocate_NvLinkedPairAndEnv()
    {
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(8, TimeProvider.System, TestLogging.Logger));
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 8);

        var preferred = await plugin.PreferredAsync(2);
        var response = await plugin.AllocateAsync(preferred);

        Assert.Equal([DefaultScenario.UuidFor(0), DefaultScenario.UuidFor(1)], preferred);
        Assert.Equal(string.Join(',', preferred), response.ContainerResponses[0].Envs["NVIDIA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public async Task Run_KubeletStartsLater_RegistersOnceItAppears()
    {
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(2, TimeProvider.System, TestLogging.Logger), startKubelet: false);
        var endpoint = await WaitForEndpointAsync(harness);

        await harness.Kubelet.StartAsync();
        await WaitForSocketAsync(endpoint.SocketPath);

        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);
        Assert.Equal(2, plugin.Devices.Count);
    }

    [Fact]
    public async Task Run_TenKubeletRestartsInARow_ReRegistersEveryTime()
    {
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(4, TimeProvider.System, TestLogging.Logger));
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);

        for (var restart = 1; restart <= 10; restart++)
        {
            var previous = plugin;
            await harness.Kubelet.RestartAsync();
            plugin = await harness.WaitForAsync(Gpu, p => !ReferenceEquals(p, previous) && p.HealthyCount == 4);
            var response = await plugin.AllocateAsync([DefaultScenario.UuidFor(restart % 4)]);
            Assert.Single(response.ContainerResponses);
        }

        Assert.True(File.Exists(Path.Combine(harness.Dir.Path, KubeletConstants.KubeletSocketName)));
        var endpoint = harness.Manager.Endpoints.Single();
        await WaitForRegistrationsAsync(endpoint, 11);
        Assert.Equal(11, endpoint.Registrations);
    }

    [Fact]
    public async Task Run_ScenarioFault_UnhealthyOnListAndWatchThenHealthyAfterRecovery()
    {
        await using var file = await ScenarioFile.StartAsync(4);
        var health = new HealthOptions { RecoveryPeriod = TimeSpan.Zero, ProbeInterval = TimeSpan.FromMinutes(10) };
        await using var harness = await PluginHarness.StartAsync(file.Backend, health: health);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);

        file.Edit(s => s.Gpus[2].Xid.Add(79));
        var faulted = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 3);
        Assert.Equal("Unhealthy", faulted.Devices[2].Health);

        file.Edit(s => s.Gpus[2].Healthy = false);
        file.Edit(s => s.Gpus[2].Healthy = true);
        var recovered = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);
        Assert.Same(faulted, recovered);
    }

    [Fact]
    public async Task Run_UnhealthyDeviceAllocated_FailedPreconditionReachesKubelet()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var harness = await PluginHarness.StartAsync(file.Backend);
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);

        file.Edit(s => s.Gpus[1].Lost = true);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 1);
        var ex = await Assert.ThrowsAsync<RpcException>(() => plugin.AllocateAsync([DefaultScenario.UuidFor(1)]));

        Assert.Equal(GrpcStatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("GPU lost", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_TwoWatchers_BothSeeTheFault()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var harness = await PluginHarness.StartAsync(file.Backend);
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);
        using var stop = new CancellationTokenSource(PluginHarness.Wait);
        await using var second = plugin.Client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty(), cancellationToken: stop.Token).GetAsyncEnumerator();
        Assert.True(await second.MoveNextAsync());

        file.Edit(s => s.Gpus[0].Xid.Add(79));

        Assert.True(await second.MoveNextAsync());
        Assert.Equal("Unhealthy", second.Current.Devices[0].Health);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 1);
    }

    [Fact]
    public async Task Run_MigMixed_OneRegisteredSocketPerResource()
    {
        await using var file = await ScenarioFile.StartAsync(2, configure: s => Gpus.EnableMig(s.Gpus[1], "1g.10gb", "1g.10gb"));
        await using var harness = await PluginHarness.StartAsync(file.Backend, new PluginOptions { MigStrategy = MigStrategy.Mixed });

        var whole = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 1);
        var mig = await harness.WaitForAsync("nvidia.com/mig-1g.10gb", p => p.HealthyCount == 2);

        Assert.NotEqual(whole.Endpoint, mig.Endpoint);
        var response = await mig.AllocateAsync([mig.Devices[0].ID]);
        Assert.StartsWith("MIG-", response.ContainerResponses[0].Envs["NVIDIA_VISIBLE_DEVICES"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_GpuAddedWithMigMixed_OnlyTheChangedResourceReRegistered()
    {
        await using var file = await ScenarioFile.StartAsync(2, configure: s => Gpus.EnableMig(s.Gpus[1], "1g.10gb"));
        await using var harness = await PluginHarness.StartAsync(file.Backend, new PluginOptions { MigStrategy = MigStrategy.Mixed });
        var gpu = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 1);
        var mig = await harness.WaitForAsync("nvidia.com/mig-1g.10gb", p => p.HealthyCount == 1);

        file.Edit(s => s.Gpus.Add(new SimulatedGpu { Uuid = "GPU-added", NumaNode = 0 }));

        var reRegistered = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);
        Assert.NotSame(gpu, reRegistered);
        Assert.Same(mig, harness.Kubelet.Find("nvidia.com/mig-1g.10gb"));
        Assert.False(mig.StreamEnded);
    }

    [Fact]
    public async Task UpdateOptions_PreStartTurnedOn_EveryResourceReRegisteredWithNewOptions()
    {
        await using var file = await ScenarioFile.StartAsync(2, configure: s => Gpus.EnableMig(s.Gpus[1], "1g.10gb"));
        await using var harness = await PluginHarness.StartAsync(file.Backend, new PluginOptions { MigStrategy = MigStrategy.Mixed });
        var gpu = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 1);
        var mig = await harness.WaitForAsync("nvidia.com/mig-1g.10gb", p => p.HealthyCount == 1);

        harness.PluginOptions.Set(harness.PluginOptions.CurrentValue with { PreStartRequired = true });

        var gpuNow = await harness.WaitForAsync(Gpu, p => p.Options.PreStartRequired);
        var migNow = await harness.WaitForAsync("nvidia.com/mig-1g.10gb", p => p.Options.PreStartRequired);
        Assert.NotSame(gpu, gpuNow);
        Assert.NotSame(mig, migNow);
        await gpuNow.Client.UnaryAsync(DevicePluginApi.PreStartContainer, new PreStartContainerRequest { DevicesIds = { DefaultScenario.UuidFor(0) } });
    }

    [Fact]
    public async Task UpdateOptions_HealthOnlyChange_NoReRegistration()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var harness = await PluginHarness.StartAsync(file.Backend);
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);
        var endpoint = harness.Manager.Endpoints.Single();

        harness.HealthOptions.Set(harness.HealthOptions.CurrentValue with { RecoveryPeriod = TimeSpan.FromSeconds(5), IgnoredXids = [79] });
        file.Edit(s => s.Gpus[0].Xid.Add(79));
        file.Edit(s => s.Gpus[0].Xid.Add(94));
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 1);

        Assert.Same(endpoint, harness.Manager.Endpoints.Single());
        Assert.Same(plugin, harness.Kubelet.Find(Gpu));
        await WaitForRegistrationsAsync(endpoint, 1);
        Assert.Equal(1, endpoint.Registrations);
    }

    [Fact]
    public async Task UpdateOptions_ReplicasRenamed_OldResourceGoneNewRegistered()
    {
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(2, TimeProvider.System, TestLogging.Logger));
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);

        harness.PluginOptions.Set(harness.PluginOptions.CurrentValue with { Replicas = 3, RenameShared = true });

        var shared = await harness.WaitForAsync("nvidia.com/gpu.shared", p => p.HealthyCount == 6);
        Assert.EndsWith("::0", shared.Devices[0].ID, StringComparison.Ordinal);
        await harness.Kubelet.WaitForAsync(Gpu, p => p.StreamEnded, PluginHarness.Wait);
        Assert.False(File.Exists(Path.Combine(harness.Dir.Path, "gpudaemon-nvidia.com-gpu.sock")));
    }

    [Fact]
    public async Task Run_GpuAddedToScenario_DeviceListGrows()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var harness = await PluginHarness.StartAsync(file.Backend);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);

        file.Edit(s => s.Gpus.Add(new SimulatedGpu { Uuid = "GPU-added", NumaNode = 0 }));

        var plugin = await harness.WaitForAsync(Gpu, p => p.Devices.Count == 3 && p.HealthyCount == 3);
        Assert.Equal("GPU-added", plugin.Devices[2].ID);
    }

    [Fact]
    public async Task Stop_Running_SocketsRemovedAndStreamsEnded()
    {
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(1, TimeProvider.System, TestLogging.Logger));
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 1);

        await harness.StopAsync();

        await harness.WaitForAsync(Gpu, p => p.StreamEnded);
        Assert.False(File.Exists(Path.Combine(harness.Dir.Path, plugin.Endpoint)));
        Assert.True(File.Exists(harness.Kubelet.SocketPath));
    }

    private static async Task<GpuDaemon.DevicePlugin.Kubelet.ResourceEndpoint> WaitForEndpointAsync(PluginHarness harness)
    {
        using var timeout = new CancellationTokenSource(PluginHarness.Wait);
        while (true)
        {
            var seen = harness.Manager.EndpointsChanged.Version;
            if (harness.Manager.Endpoints is [var endpoint, ..])
            {
                return endpoint;
            }

            await harness.Manager.EndpointsChanged.WaitForChangeAsync(seen, timeout.Token);
        }
    }

    /// <summary>The kubelet has a registration before the plugin's Register call returns and counts it.</summary>
    private static async Task WaitForRegistrationsAsync(GpuDaemon.DevicePlugin.Kubelet.ResourceEndpoint endpoint, int count)
    {
        using var timeout = new CancellationTokenSource(PluginHarness.Wait);
        while (true)
        {
            var seen = endpoint.Registered.Version;
            if (endpoint.Registrations >= count)
            {
                return;
            }

            await endpoint.Registered.WaitForChangeAsync(seen, timeout.Token);
        }
    }

    private static async Task WaitForSocketAsync(string path)
    {
        using var timeout = new CancellationTokenSource(PluginHarness.Wait);
        while (!File.Exists(path))
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
