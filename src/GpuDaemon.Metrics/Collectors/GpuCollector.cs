using System.Collections.Concurrent;
using System.Globalization;
using GpuDaemon.Devices;
using GpuDaemon.Metrics.Exposition;
using GpuDaemon.PodResources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>
/// dcgm-exporter's GPU series from the backend's telemetry, with the containers holding each device as
/// <c>pod</c>, <c>namespace</c>, <c>container</c> labels. A MIG-enabled GPU is one entity per MIG instance
/// (<c>GPU_I_PROFILE</c>, <c>GPU_I_ID</c>); a device held by several containers (time-slicing) has one series
/// per container, told apart by <c>vgpu</c>. A value the backend cannot read is left out, never written as 0.
/// </summary>
internal sealed partial class GpuCollector(
    IGpuBackend backend, XidTracker xids, IOptionsMonitor<MetricsOptions> options, IPodAttribution? attribution, ILogger<GpuCollector> logger) : IMetricsCollector
{
    public const string XidTotalName = "gpudaemon_xid_errors_total";

    private readonly ConcurrentDictionary<string, byte> _unreadable = new(StringComparer.Ordinal);

    /// <summary>Each GPU's label sets, kept while the inventory, the attribution map and the host label are the same objects.</summary>
    private SeriesCache? _series;

    public string Name => "gpu";

    public void Collect(MetricsBuilder metrics)
    {
        var inventory = backend.Inventory;
        var config = options.CurrentValue;
        var node = GpuLabels.NodeName(config);
        // A map kept from before the kubelet stopped answering may be stale: no pod labels rather than wrong ones.
        var holders = attribution is { Up: true } ? attribution.ContainersByDevice : null;

        var cache = Volatile.Read(ref _series);
        if (cache is null || !cache.IsFor(inventory, holders, config.HostnameLabel, node))
        {
            cache = new SeriesCache(inventory, holders, config.HostnameLabel, node,
                [.. inventory.Gpus.Select(gpu => Series(gpu, inventory.Driver, config.HostnameLabel, node, holders))]);
            Volatile.Write(ref _series, cache);
        }

        for (var g = 0; g < inventory.Gpus.Count; g++)
        {
            var gpu = inventory.Gpus[g];
            var series = cache.ByGpu[g];
            if (Read(gpu.Uuid) is { } telemetry)
            {
                foreach (var field in GpuFields.All)
                {
                    if (field.Read(telemetry) is not { } value)
                    {
                        continue;
                    }

                    foreach (var labels in series)
                    {
                        if (field.Type == MetricType.Counter)
                        {
                            metrics.Counter(field.Name, field.Help, value, labels);
                        }
                        else
                        {
                            metrics.Gauge(field.Name, field.Help, value, labels);
                        }
                    }
                }
            }

            var (last, counts) = xids.Snapshot(gpu.Uuid);
            foreach (var labels in series)
            {
                metrics.Gauge(GpuFields.XidErrors, "Code of the last Xid error the GPU reported since GpuDaemon started; 0 when none.", last ?? 0, labels);
            }

            foreach (var (code, count) in counts)
            {
                metrics.Counter(XidTotalName, "Xid errors the GPU reported since GpuDaemon started, by Xid code (at most 32 codes per GPU, then xid=\"other\").", count,
                    new Label("gpu", gpu.Index.ToString(CultureInfo.InvariantCulture)), new Label("UUID", gpu.Uuid), new Label("xid", code));
            }
        }
    }

    /// <summary>The label sets of one GPU's series: per MIG instance if it is partitioned, per holding container.</summary>
    private static LabelSet[] Series(GpuDevice gpu, DriverInfo driver, string hostnameLabel, string node, IReadOnlyDictionary<string, IReadOnlyList<PodContainer>>? holders)
    {
        var series = new List<LabelSet>();
        if (gpu.Mig.Enabled && gpu.Mig.Instances.Count > 0)
        {
            foreach (var instance in gpu.Mig.Instances)
            {
                // Under --mig-strategy none a MIG-enabled GPU is advertised whole, keyed by its own UUID: its
                // holder holds every instance.
                AddHeld(series, GpuLabels.For(gpu, driver, hostnameLabel, node, instance), holders, instance.Uuid, gpu.Uuid);
            }
        }
        else
        {
            AddHeld(series, GpuLabels.For(gpu, driver, hostnameLabel, node), holders, gpu.Uuid);
        }

        return [.. series];
    }

    private static void AddHeld(List<LabelSet> series, Label[] device, IReadOnlyDictionary<string, IReadOnlyList<PodContainer>>? holders, string key, string? parentKey = null)
    {
        IReadOnlyList<PodContainer>? containers = null;
        if (holders is not null && (!holders.TryGetValue(key, out containers) || containers.Count == 0) && parentKey is not null)
        {
            holders.TryGetValue(parentKey, out containers);
        }

        if (containers is null || containers.Count == 0)
        {
            series.Add(new LabelSet(device));
            return;
        }

        for (var i = 0; i < containers.Count; i++)
        {
            var held = containers[i];
            Label[] pod = containers.Count == 1
                ? [new("container", held.Container), new("namespace", held.Namespace), new("pod", held.Pod)]
                : [new("container", held.Container), new("namespace", held.Namespace), new("pod", held.Pod), new("vgpu", i.ToString(CultureInfo.InvariantCulture))];
            series.Add(new LabelSet([.. device, .. pod]));
        }
    }

    private sealed class SeriesCache(
        GpuInventory inventory, IReadOnlyDictionary<string, IReadOnlyList<PodContainer>>? holders, string hostnameLabel, string node, LabelSet[][] byGpu)
    {
        public LabelSet[][] ByGpu { get; } = byGpu;

        public bool IsFor(GpuInventory currentInventory, IReadOnlyDictionary<string, IReadOnlyList<PodContainer>>? currentHolders, string currentHostnameLabel, string currentNode) =>
            ReferenceEquals(inventory, currentInventory) && ReferenceEquals(holders, currentHolders)
            && string.Equals(hostnameLabel, currentHostnameLabel, StringComparison.Ordinal) && string.Equals(node, currentNode, StringComparison.Ordinal);
    }

    private GpuTelemetry? Read(string uuid)
    {
        try
        {
            var telemetry = backend.ReadTelemetry(uuid);
            if (_unreadable.TryRemove(uuid, out _))
            {
                Log.TelemetryReadable(logger, uuid);
            }

            return telemetry;
        }
        catch (Exception ex) when (ex is DeviceBackendException or InvalidOperationException or IOException)
        {
            if (_unreadable.TryAdd(uuid, 0))
            {
                Log.TelemetryUnreadable(logger, uuid, ex.Message.ReplaceLineEndings(" "));
            }

            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 12020, Level = LogLevel.Warning, Message = "GPU {Uuid}'s telemetry cannot be read ({Problem}); its value series are left out of scrapes until it can")]
        public static partial void TelemetryUnreadable(ILogger logger, string uuid, string problem);

        [LoggerMessage(EventId = 12021, Level = LogLevel.Information, Message = "GPU {Uuid}'s telemetry can be read again")]
        public static partial void TelemetryReadable(ILogger logger, string uuid);
    }
}
