using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Devices.Simulated;

public sealed class SimulatedBackendTests : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task StartAsync_FromCount_InventoryMatchesDefaultScenario()
    {
        await using var backend = SimulatedBackend.FromCount(4, _clock, TestLogging.Logger);

        await backend.StartAsync(default);

        var gpus = backend.Inventory.Gpus;
        Assert.Equal(4, gpus.Count);
        Assert.Equal([0, 1, 2, 3], gpus.Select(g => g.Index));
        Assert.Equal(DefaultScenario.UuidFor(2), gpus[2].Uuid);
        Assert.Equal("/dev/nvidia3", gpus[3].DeviceNode);
        Assert.Equal([0, 0, 1, 1], gpus.Select(g => g.NumaNode ?? -1));
        Assert.True(backend.Inventory.Driver.Loaded);
        Assert.All(gpus, g => Assert.True(backend.ProbeHealth(g.Uuid).Healthy));
    }

    [Fact]
    public void FromCount_OutOfRange_ClearError()
    {
        var ex = Assert.Throws<DeviceBackendException>(() => SimulatedBackend.FromCount(65, _clock, TestLogging.Logger));

        Assert.Contains("--simulate 65", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_MissingFile_ErrorNamesPath()
    {
        await using var backend = SimulatedBackend.FromFile(_dir.File("nope.json"), _clock, TestLogging.Logger);

        var ex = await Assert.ThrowsAsync<DeviceBackendException>(() => backend.StartAsync(default));

        Assert.Contains("nope.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadTelemetry_ScenarioValues_Reported()
    {
        var path = Write(Scenario(2, g => { g.UtilizationPercent = 55; g.MemoryUsedMiB = 1000; g.TemperatureC = 70; g.PowerWatts = 300; }));
        await using var backend = await StartFile(path);

        var telemetry = backend.ReadTelemetry("GPU-1");

        Assert.Equal(55, telemetry.GpuUtilizationPercent);
        Assert.Equal(1000, telemetry.MemoryUsedMiB);
        Assert.Equal(81559 - 1000, telemetry.MemoryFreeMiB);
        Assert.Equal(70, telemetry.TemperatureC);
        Assert.Equal(300, telemetry.PowerWatts);
        Assert.Equal(_clock.GetUtcNow(), telemetry.Timestamp);
        Assert.Throws<DeviceBackendException>(() => backend.ReadTelemetry("GPU-9"));
    }

    [Fact]
    public async Task ReadTelemetry_MemoryReserved_ReportedAndNotCountedFree()
    {
        var path = Write(Scenario(1, g => { g.MemoryUsedMiB = 1000; g.MemoryReservedMiB = 512; }));
        await using var backend = await StartFile(path);

        var telemetry = backend.ReadTelemetry("GPU-0");

        Assert.Equal(512, telemetry.MemoryReservedMiB);
        Assert.Equal(81559 - 1000 - 512, telemetry.MemoryFreeMiB);
    }

    [Fact]
    public async Task ReadTelemetry_MemoryReservedAbsent_NotReported()
    {
        var path = Write(Scenario(1));
        await using var backend = await StartFile(path);

        Assert.Null(backend.ReadTelemetry("GPU-0").MemoryReservedMiB);
    }

    [Fact]
    public async Task Poll_XidAppended_DeliveredOnceAsEvent()
    {
        var scenario = Scenario(2);
        var path = Write(scenario);
        await using var backend = await StartFile(path);
        await using var events = backend.WatchEventsAsync(default).GetAsyncEnumerator();
        var next = events.MoveNextAsync();

        scenario.Gpus[1].Xid.Add(79);
        Write(scenario);
        _clock.Advance(Poll);

        Assert.True(await next.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(new DeviceEvent(DeviceEventKind.Xid, "GPU-1", _clock.GetUtcNow(), "simulated Xid", 79), events.Current);

        // Re-reading the same file, or an edit elsewhere, delivers nothing more for that Xid.
        scenario.Gpus[0].TemperatureC = 80;
        Write(scenario);
        _clock.Advance(Poll);
        scenario.Gpus[1].Xid.Add(48);
        Write(scenario);
        _clock.Advance(Poll);
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(48, events.Current.XidCode);
    }

    [Fact]
    public async Task StartAsync_XidsAlreadyInFile_TreatedAsHistory()
    {
        var scenario = Scenario(1, g => g.Xid.Add(79));
        var path = Write(scenario);
        await using var backend = await StartFile(path);
        await using var events = backend.WatchEventsAsync(default).GetAsyncEnumerator();
        var next = events.MoveNextAsync();

        scenario.Gpus[0].Xid.Add(94);
        Write(scenario);
        _clock.Advance(Poll);

        Assert.True(await next.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(94, events.Current.XidCode);
    }

    [Fact]
    public async Task Poll_HealthyFalseThenTrue_ProbeFailsThenRecoversWithEvents()
    {
        var scenario = Scenario(2);
        var path = Write(scenario);
        await using var backend = await StartFile(path);
        await using var events = backend.WatchEventsAsync(default).GetAsyncEnumerator();

        scenario.Gpus[0].Healthy = false;
        Write(scenario);
        var failed = events.MoveNextAsync();
        _clock.Advance(Poll);
        Assert.True(await failed.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(DeviceEventKind.ProbeFailed, events.Current.Kind);
        Assert.False(backend.ProbeHealth("GPU-0").Healthy);
        Assert.Contains("healthy: false", backend.ProbeHealth("GPU-0").Reason, StringComparison.Ordinal);

        scenario.Gpus[0].Healthy = true;
        Write(scenario);
        var recovered = events.MoveNextAsync();
        _clock.Advance(Poll);
        Assert.True(await recovered.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(DeviceEventKind.Recovered, events.Current.Kind);
        Assert.True(backend.ProbeHealth("GPU-0").Healthy);
    }

    [Fact]
    public async Task Poll_LostTrue_LostEventAndTelemetryFails()
    {
        var scenario = Scenario(2);
        var path = Write(scenario);
        await using var backend = await StartFile(path);
        await using var events = backend.WatchEventsAsync(default).GetAsyncEnumerator();
        var next = events.MoveNextAsync();

        scenario.Gpus[1].Lost = true;
        Write(scenario);
        _clock.Advance(Poll);

        Assert.True(await next.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(DeviceEventKind.Lost, events.Current.Kind);
        Assert.Equal("GPU-1", events.Current.Uuid);
        Assert.Throws<DeviceBackendException>(() => backend.ReadTelemetry("GPU-1"));
        Assert.False(backend.ProbeHealth("GPU-1").Healthy);
    }

    [Fact]
    public async Task Poll_GpuRemoved_LostEventAndNewInventory()
    {
        var scenario = Scenario(3);
        var path = Write(scenario);
        await using var backend = await StartFile(path);
        await using var inventories = backend.WatchInventoryAsync(default).GetAsyncEnumerator();
        await using var events = backend.WatchEventsAsync(default).GetAsyncEnumerator();
        Assert.True(await inventories.MoveNextAsync());
        Assert.Equal(3, inventories.Current.Gpus.Count);
        var nextEvent = events.MoveNextAsync();
        var nextInventory = inventories.MoveNextAsync();

        scenario.Gpus.RemoveAt(2);
        Write(scenario);
        _clock.Advance(Poll);

        Assert.True(await nextEvent.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(new DeviceEvent(DeviceEventKind.Lost, "GPU-2", _clock.GetUtcNow(), "the GPU was removed from the scenario"), events.Current);
        Assert.True(await nextInventory.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, inventories.Current.Gpus.Count);
    }

    [Fact]
    public async Task Reload_TelemetryOnlyChange_NoNewInventory()
    {
        var scenario = Scenario(1);
        var path = Write(scenario);
        await using var backend = await StartFile(path);
        var before = backend.Inventory;

        scenario.Gpus[0].TemperatureC = 90;
        Write(scenario);

        Assert.True(backend.Reload());
        Assert.Same(before, backend.Inventory);
        Assert.Equal(90, backend.ReadTelemetry("GPU-0").TemperatureC);
    }

    [Fact]
    public async Task Reload_BrokenEdit_KeepsPreviousScenario()
    {
        var path = Write(Scenario(2));
        await using var backend = await StartFile(path);

        await File.WriteAllTextAsync(path, "{ \"gpus\": [ {\"uuid\": ");

        Assert.False(backend.Reload());
        Assert.Equal(2, backend.Inventory.Gpus.Count);
        Assert.True(backend.ProbeHealth("GPU-0").Healthy);
    }

    [Fact]
    public async Task Reload_UnchangedFile_NothingApplied()
    {
        var path = Write(Scenario(1));
        await using var backend = await StartFile(path);

        Assert.False(backend.Reload());
    }

    [Fact]
    public async Task Watcher_FileRewritten_ReloadedWithoutClockAdvance()
    {
        var scenario = Scenario(1);
        var path = Write(scenario);
        await using var backend = await StartFile(path, useChangeNotifications: true);
        await using var inventories = backend.WatchInventoryAsync(default).GetAsyncEnumerator();
        Assert.True(await inventories.MoveNextAsync());
        var next = inventories.MoveNextAsync();

        scenario.Gpus.Add(new SimulatedGpu { Uuid = "GPU-new" });
        Write(scenario);

        // The change notification alone must bring the new GPU in: the manual clock never moves.
        Assert.True(await next.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(["GPU-0", "GPU-new"], inventories.Current.Gpus.Select(g => g.Uuid));
    }

    [Fact]
    public async Task Poll_Edit_AppliedAtFirstPollWithoutQuietPeriod()
    {
        var scenario = Scenario(1);
        var path = Write(scenario);
        await using var backend = await StartFile(path);

        scenario.Gpus[0].Healthy = false;
        Write(scenario);
        _clock.Advance(Poll);

        // Fault injection must reach the plugin at once: the simulation applies a change with no quiet period.
        Assert.False(backend.ProbeHealth("GPU-0").Healthy);
    }

    [Fact]
    public async Task StartAsync_FileLargerThanLimit_ErrorNamesPathAndLimit()
    {
        var path = _dir.File("scenario.json");
        using (var file = File.Create(path))
        {
            file.SetLength(SimulatedBackend.MaxScenarioFileBytes + 1);
        }

        await using var backend = SimulatedBackend.FromFile(path, _clock, TestLogging.Logger, Poll, useChangeNotifications: false);

        var ex = await Assert.ThrowsAsync<DeviceBackendException>(() => backend.StartAsync(default));
        Assert.Equal($"simulation file {path} is larger than 4 MiB, the most GpuDaemon reads; check that the path names the scenario file", ex.Message);
    }

    [Fact]
    public async Task Poll_FileGrowsPastLimit_PreviousScenarioKept()
    {
        var path = Write(Scenario(2));
        await using var backend = await StartFile(path);

        using (var file = File.OpenWrite(path))
        {
            file.SetLength(SimulatedBackend.MaxScenarioFileBytes + 1);
        }

        Assert.False(backend.Reload());
        Assert.Equal(2, backend.Inventory.Gpus.Count);
    }

    [Fact]
    public async Task Inventory_MigScenario_ReportsInstances()
    {
        var path = Write(Scenario(1, g => g.Mig = new SimulatedMig
        {
            Enabled = true,
            Instances = [new SimulatedMigInstance { Profile = "1g.10gb", MemoryMiB = 9856 }, new SimulatedMigInstance { Profile = "1g.10gb", MemoryMiB = 9856 }],
        }));
        await using var backend = await StartFile(path);

        var mig = backend.Inventory.Gpus[0].Mig;

        Assert.True(mig.Capable);
        Assert.True(mig.Enabled);
        Assert.Equal(["1g.10gb", "1g.10gb"], mig.Instances.Select(i => i.Profile));
        Assert.Equal(2, mig.Instances.Select(i => i.Uuid).Distinct().Count());
    }

    private static SimulationScenario Scenario(int count, Action<SimulatedGpu>? configure = null)
    {
        var scenario = new SimulationScenario();
        for (var i = 0; i < count; i++)
        {
            var gpu = new SimulatedGpu { Uuid = $"GPU-{i}", NumaNode = 0 };
            configure?.Invoke(gpu);
            scenario.Gpus.Add(gpu);
        }

        return scenario;
    }

    private string Write(SimulationScenario scenario)
    {
        var path = _dir.File("scenario.json");
        ScenarioReader.WriteFile(path, scenario);
        return path;
    }

    private async Task<SimulatedBackend> StartFile(string path, bool useChangeNotifications = false)
    {
        var backend = SimulatedBackend.FromFile(path, _clock, TestLogging.Logger, Poll, useChangeNotifications);
        await backend.StartAsync(default);
        return backend;
    }
}
