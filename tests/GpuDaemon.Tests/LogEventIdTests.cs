using System.Reflection;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests;

public sealed class LogEventIdTests
{
    private static readonly Assembly[] Assemblies =
    [
        typeof(GpuDaemon.Cli.GpuDaemonCli).Assembly,
        typeof(GpuDaemon.DevicePlugin.PluginOptions).Assembly,
        typeof(GpuDaemon.Health.GpuHealthMonitor).Assembly,
        typeof(GpuDaemon.KubeletEmulation.KubeletEmulator).Assembly,
        typeof(GpuDaemon.Devices.IGpuBackend).Assembly,
        typeof(GpuDaemon.GrpcWire.GrpcUnixServer).Assembly,
        typeof(GpuDaemon.Nvidia.Nvml.NvmlBackend).Assembly,
    ];

    [Fact]
    public void LoggerMessages_AllAssemblies_EventIdsUnique()
    {
        var ids = Assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.FullName}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .ToList();

        Assert.True(ids.Count > 30, $"found only {ids.Count} log messages");
        var repeated = ids.GroupBy(x => x.Attribute!.EventId).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => x.Method))}").ToList();
        Assert.True(repeated.Count == 0, "event ids used twice: " + string.Join("; ", repeated));
    }
}
