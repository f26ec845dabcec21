using GpuDaemon.Devices;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Nvidia.Nvml;

public sealed class NvmlBackendHealthTests
{
    [Fact]
    public async Task WatchEventsAsync_XidDelivered_YieldsXidEventForThatGpu()
    {
        using var driver = new StandInDriver("gpus = 2");
        var clock = new ManualTimeProvider();
        await using var backend = await driver.StartBackendAsync(clock);
        using var stop = new CancellationTokenSource();
        var xid = backend.WatchEventsAsync(stop.Token).FirstMatchAsync(e => e.Kind == DeviceEventKind.Xid);

        Assert.Equal(1, driver.Control.RaiseXid(1, 48));

        var deviceEvent = await xid;
        Assert.Equal(new DeviceEvent(DeviceEventKind.Xid, backend.Inventory.Gpus[1].Uuid, clock.GetUtcNow(), "Xid critical error reported by NVML", 48), deviceEvent);
        Assert.True(backend.ProbeHealth(deviceEvent.Uuid).Healthy);
    }

    [Fact]
    public async Task WatchEventsAsync_DoubleBitEccDelivered_YieldsEccEvent()
    {
        using var driver = new StandInDriver("gpus = 1");
        await using var backend = await driver.StartBackendAsync();
        using var stop = new CancellationTokenSource();
        var ecc = backend.WatchEventsAsync(stop.Token).FirstMatchAsync(e => e.Kind == DeviceEventKind.EccDoubleBit);

        driver.Control.RaiseEvent(0, StandInControl.DoubleBitEccEvent, 0);

        Assert.Equal(backend.Inventory.Gpus[0].Uuid, (await ecc).Uuid);
    }

    [Fact]
    public async Task WatchEventsAsync_GpuLostWithXid79_YieldsXidThenLostOnceProbed()
    {
        using var driver = new StandInDriver("gpus = 2");
        await using var backend = await driver.StartBackendAsync();
        var uuid = backend.Inventory.Gpus[0].Uuid;
        using var stop = new CancellationTokenSource();
        var events = new List<DeviceEvent>();
        var lost = backend.WatchEventsAsync(stop.Token).FirstMatchAsync(e =>
        {
            events.Add(e);
            return e.Kind == DeviceEventKind.Lost;
        });

        var xid = backend.WatchEventsAsync(stop.Token).FirstMatchAsync(e => e.Kind == DeviceEventKind.Xid);
        driver.Control.SetLost(0, lost: true);
        driver.Control.RaiseXid(0, 79);
        await xid;
        Assert.False(backend.ProbeHealth(uuid).Healthy);

        var lostEvent = await lost;
        Assert.Equal(uuid, lostEvent.Uuid);
        Assert.Contains("lost", lostEvent.Reason, StringComparison.Ordinal);
        Assert.Equal([DeviceEventKind.Xid, DeviceEventKind.Lost], events.Select(e => e.Kind));
        Assert.False(backend.ProbeHealth(uuid).Healthy);
        var error = Assert.Throws<DeviceBackendException>(() => backend.ReadTelemetry(uuid));
        Assert.Contains($"GPU {uuid} is lost", error.Message, StringComparison.Ordinal);
        Assert.True(backend.ProbeHealth(backend.Inventory.Gpus[1].Uuid).Healthy);
    }

    [Fact]
    public async Task ProbeHealth_GpuLostWithoutEvent_YieldsLostThenRecovered()
    {
        using var driver = new StandInDriver("gpus = 1");
        await using var backend = await driver.StartBackendAsync();
        var uuid = backend.Inventory.Gpus[0].Uuid;
        using var stop = new CancellationTokenSource();
        var events = backend.WatchEventsAsync(stop.Token);
        var lost = events.FirstMatchAsync(e => e.Kind == DeviceEventKind.Lost);

        driver.Control.SetLost(0, lost: true);
        Assert.False(backend.ProbeHealth(uuid).Healthy);
        Assert.Equal(uuid, (await lost).Uuid);
        var recovered = events.FirstMatchAsync(e => e.Kind == DeviceEventKind.Recovered);
        driver.Control.SetLost(0, lost: false);
        Assert.True(backend.ProbeHealth(uuid).Healthy);

        Assert.Equal(uuid, (await recovered).Uuid);
    }

    [Fact]
    public async Task ReadTelemetry_GpuLost_ThrowsAndPublishesLost()
    {
        using var driver = new StandInDriver("gpus = 1");
        await using var backend = await driver.StartBackendAsync();
        var uuid = backend.Inventory.Gpus[0].Uuid;
        driver.Control.SetLost(0, lost: true);

        var error = Assert.Throws<DeviceBackendException>(() => backend.ReadTelemetry(uuid));

        Assert.Equal($"GPU {uuid} is lost (NVML answers GPU_IS_LOST); it needs a reset or a reboot of the node before it can be read again", error.Message);
        Assert.Equal(HealthProbe.Failed("NVML reports the GPU lost (nvmlDeviceGetTemperature)"), backend.ProbeHealth(uuid));
    }

    [Fact]
    public async Task DisposeAsync_WhileWatching_StopsEventThreadAndFreesEventSet()
    {
        using var driver = new StandInDriver("gpus = 2");
        var backend = await driver.StartBackendAsync();
        using var stop = new CancellationTokenSource();
        _ = backend.WatchEventsAsync(stop.Token);
        Assert.Equal(1, driver.Control.EventSetCount);

        await backend.DisposeAsync();

        Assert.Equal(0, driver.Control.EventSetCount);
        Assert.Equal(0, driver.Control.InitCount);
    }

    [Fact]
    public async Task WatchEventsAsync_BeforeStart_StartsWatchingOnceStarted()
    {
        using var driver = new StandInDriver("gpus = 1");
        await using var backend = driver.CreateBackend();
        using var stop = new CancellationTokenSource();
        var xid = backend.WatchEventsAsync(stop.Token).FirstMatchAsync(e => e.Kind == DeviceEventKind.Xid);
        Assert.Equal(0, driver.Control.EventSetCount);

        await backend.StartAsync(CancellationToken.None);
        driver.Control.RaiseXid(0, 31);

        Assert.Equal(31, (await xid).XidCode);
    }
}
