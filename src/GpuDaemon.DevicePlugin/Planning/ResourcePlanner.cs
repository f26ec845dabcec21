using System.Globalization;
using GpuDaemon.Devices;

namespace GpuDaemon.DevicePlugin.Planning;

/// <summary>
/// Turns the GPUs into the resources to advertise: MIG strategy first, then time-slicing replicas.
/// Pure: same inventory and config, same plan.
/// </summary>
internal static class ResourcePlanner
{
    public const string ReplicaSeparator = "::";

    public static IReadOnlyList<ResourcePlan> Plan(GpuInventory inventory, PluginOptions config)
    {
        var byResource = new SortedDictionary<string, List<PluginDevice>>(StringComparer.Ordinal);
        void Add(string resource, PluginDevice device)
        {
            if (!byResource.TryGetValue(resource, out var list))
            {
                byResource[resource] = list = [];
            }

            list.Add(device);
        }

        switch (config.MigStrategy)
        {
            case MigStrategy.None:
                foreach (var gpu in inventory.Gpus)
                {
                    Add(config.ResourceName, WholeGpu(gpu, config));
                }

                break;

            case MigStrategy.Single:
                PlanSingle(inventory, config, Add);
                break;

            case MigStrategy.Mixed:
                foreach (var gpu in inventory.Gpus)
                {
                    if (gpu.Mig.Enabled)
                    {
                        foreach (var instance in gpu.Mig.Instances)
                        {
                            Add(MigResourceName(config.ResourceName, instance.Profile), MigDevice(gpu, instance, config));
                        }
                    }
                    else
                    {
                        Add(config.ResourceName, WholeGpu(gpu, config));
                    }
                }

                break;
        }

        if (byResource.Count == 0)
        {
            byResource[config.ResourceName] = [];
        }

        return byResource.Select(r => WithReplicas(r.Key, r.Value, config)).ToList();
    }

    /// <summary><c>nvidia.com/gpu</c> + <c>1g.10gb</c> → <c>nvidia.com/mig-1g.10gb</c>.</summary>
    public static string MigResourceName(string resourceName, string profile) =>
        resourceName[..(resourceName.IndexOf('/', StringComparison.Ordinal) + 1)] + "mig-" + profile;

    private static void PlanSingle(GpuInventory inventory, PluginOptions config, Action<string, PluginDevice> add)
    {
        var migGpus = inventory.Gpus.Where(g => g.Mig.Enabled).ToList();
        if (migGpus.Count == 0)
        {
            foreach (var gpu in inventory.Gpus)
            {
                add(config.ResourceName, WholeGpu(gpu, config));
            }

            return;
        }

        var notMig = inventory.Gpus.FirstOrDefault(g => !g.Mig.Enabled);
        if (notMig is not null)
        {
            throw new PlanException($"mig-strategy single needs every GPU in MIG mode, but GPU {notMig.Index} ({notMig.Uuid}) is not; use mig-strategy mixed");
        }

        var profiles = migGpus.SelectMany(g => g.Mig.Instances).Select(i => i.Profile).Distinct().ToList();
        if (profiles.Count != 1)
        {
            throw new PlanException($"mig-strategy single needs one MIG profile on every GPU, found {string.Join(", ", profiles)}; use mig-strategy mixed");
        }

        foreach (var gpu in migGpus)
        {
            foreach (var instance in gpu.Mig.Instances)
            {
                add(config.ResourceName, MigDevice(gpu, instance, config));
            }
        }
    }

    private static PluginDevice WholeGpu(GpuDevice gpu, PluginOptions config)
    {
        var id = config.DeviceIdStrategy == DeviceIdStrategy.Index ? gpu.Index.ToString(CultureInfo.InvariantCulture) : gpu.Uuid;
        return new PluginDevice { Id = id, RuntimeId = id, Gpu = gpu };
    }

    private static PluginDevice MigDevice(GpuDevice gpu, MigInstance instance, PluginOptions config)
    {
        var id = config.DeviceIdStrategy == DeviceIdStrategy.Index
            ? string.Create(CultureInfo.InvariantCulture, $"{gpu.Index}:{instance.GpuInstanceId}")
            : instance.Uuid;
        return new PluginDevice { Id = id, RuntimeId = id, Gpu = gpu, Mig = instance };
    }

    private static ResourcePlan WithReplicas(string resource, List<PluginDevice> devices, PluginOptions config)
    {
        if (config.Replicas == 1)
        {
            return new ResourcePlan(resource, devices);
        }

        var name = config.RenameShared ? resource + ".shared" : resource;
        var replicas = devices
            .SelectMany(d => Enumerable.Range(0, config.Replicas).Select(k => d with
            {
                Id = string.Create(CultureInfo.InvariantCulture, $"{d.Id}{ReplicaSeparator}{k}"),
                Replica = k,
            }))
            .ToList();
        return new ResourcePlan(name, replicas);
    }
}

/// <summary>The inventory and config cannot be turned into resources; the message says why and what to change.</summary>
public sealed class PlanException : Exception
{
    public PlanException()
    {
    }

    public PlanException(string message)
        : base(message)
    {
    }

    public PlanException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
