using System.Globalization;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;

namespace GpuDaemon.NodeLabels;

/// <summary>
/// The node's labels from its GPUs, the device plugin's sharing and MIG options, and whether validation passed,
/// following GPU Feature Discovery's keys and value formats. Pure: same input, same labels, sorted by key.
/// </summary>
internal static class NodeLabelCalculator
{
    public const string SharingNone = "none";
    public const string SharingTimeSlicing = "time-slicing";

    public static NodeLabelSet Calculate(GpuInventory inventory, PluginOptions plugin, bool validated)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var warnings = new List<string>();
        if (validated)
        {
            labels[NodeLabelKeys.Validated] = "true";
        }

        if (inventory.Gpus.Count > 0)
        {
            AddNodeWide(labels, warnings, inventory, plugin);
            AddFullGpu(labels, warnings, inventory.Gpus, plugin);
            switch (plugin.MigStrategy)
            {
                case MigStrategy.Single:
                    AddMigSingle(labels, warnings, inventory.Gpus, plugin);
                    break;
                case MigStrategy.Mixed:
                    AddMigMixed(labels, inventory.Gpus, plugin);
                    break;
            }
        }

        var list = labels.Select(l => new NodeLabel(l.Key, l.Value)).ToList();
        if (list.Count > NodeLabelsOptions.MaxLabels)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{list.Count} labels exceed the bound of {NodeLabelsOptions.MaxLabels}; the last {list.Count - NodeLabelsOptions.MaxLabels} per-profile MIG labels by key are left out"));
            // Node-wide keys (gpu.*, mig.capable, mig.strategy, ...) are kept; per-profile mig-<profile>.* keys go first.
            list = [.. list
                .OrderBy(l => l.Key.StartsWith(NodeLabelKeys.MigProfilePrefix, StringComparison.Ordinal))
                .ThenBy(l => l.Key, StringComparer.Ordinal)
                .Take(NodeLabelsOptions.MaxLabels)
                .OrderBy(l => l.Key, StringComparer.Ordinal)];
        }

        return new NodeLabelSet(list, warnings);
    }

    private static void AddNodeWide(SortedDictionary<string, string> labels, List<string> warnings, GpuInventory inventory, PluginOptions plugin)
    {
        labels[NodeLabelKeys.GpuPresent] = "true";
        labels[NodeLabelKeys.MigCapable] = inventory.Gpus.Any(g => g.Mig.Capable) ? "true" : "false";
        labels[NodeLabelKeys.GpuSharingStrategy] = plugin.Replicas > 1 ? SharingTimeSlicing : SharingNone;
        if (plugin.MigStrategy != MigStrategy.None)
        {
            labels[NodeLabelKeys.MigStrategy] = plugin.MigStrategy == MigStrategy.Single ? "single" : "mixed";
        }

        var driver = inventory.Driver;
        if (DriverVersionLabels.Split(driver.Version) is var (major, minor, revision))
        {
            labels[NodeLabelKeys.DriverMajor] = major;
            labels[NodeLabelKeys.DriverMinor] = minor;
            labels[NodeLabelKeys.DriverRevision] = revision;
            labels[NodeLabelKeys.DriverFull] = driver.Version.Trim();
            labels[NodeLabelKeys.LegacyDriverMajor] = major;
            labels[NodeLabelKeys.LegacyDriverMinor] = minor;
            labels[NodeLabelKeys.LegacyDriverRevision] = revision;
        }
        else if (driver.Version.Length > 0)
        {
            warnings.Add($"driver version '{Excerpt.Of(driver.Version)}' is not X.Y or X.Y.Z; the cuda.driver-version labels are left out");
        }

        if (DriverVersionLabels.Split(driver.CudaVersion) is (var cudaMajor, var cudaMinor, ""))
        {
            labels[NodeLabelKeys.RuntimeMajor] = cudaMajor;
            labels[NodeLabelKeys.RuntimeMinor] = cudaMinor;
            labels[NodeLabelKeys.RuntimeFull] = cudaMajor + "." + cudaMinor;
            labels[NodeLabelKeys.LegacyRuntimeMajor] = cudaMajor;
            labels[NodeLabelKeys.LegacyRuntimeMinor] = cudaMinor;
        }
    }

    /// <summary>
    /// The nvidia.com/gpu.* labels describe one model. With several, like GPU Feature Discovery (which warns and
    /// labels one), the node is labelled for the model it has most of (the first by index on a tie), and we warn.
    /// </summary>
    private static void AddFullGpu(SortedDictionary<string, string> labels, List<string> warnings, IReadOnlyList<GpuDevice> gpus, PluginOptions plugin)
    {
        var models = gpus
            .GroupBy(g => g.Model, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Min(x => x.Index))
            .ToList();
        var chosen = models[0];
        if (models.Count > 1)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"GPUs of {models.Count} models ({string.Join(", ", models.Select(m => $"{m.Count()} {m.Key}"))}); the nvidia.com/gpu.* labels describe {chosen.Key} only"));
        }

        // A model whose GPUs are all in MIG mode is labelled without sharing, as GPU Feature Discovery does.
        var representative = chosen.FirstOrDefault(g => !g.Mig.Enabled);
        var sharingApplies = representative is not null;
        representative ??= chosen.First();
        labels[NodeLabelKeys.GpuProduct] = Product(sharingApplies ? plugin : null, representative.Model);
        labels[NodeLabelKeys.GpuCount] = Number(chosen.Count());
        labels[NodeLabelKeys.GpuReplicas] = Number(sharingApplies ? plugin.Replicas : 0);
        if (representative.MemoryMiB != 0)
        {
            labels[NodeLabelKeys.GpuMemory] = Number(representative.MemoryMiB);
        }

        if (representative.ComputeCapability is { Major: > 0 } capability)
        {
            labels[NodeLabelKeys.GpuFamily] = GpuFamily.Of(capability);
            labels[NodeLabelKeys.GpuComputeMajor] = Number(capability.Major);
            labels[NodeLabelKeys.GpuComputeMinor] = Number(capability.Minor);
        }
    }

    /// <summary>Single: every GPU in MIG mode with one profile; nvidia.com/gpu.* then describe the MIG devices. Otherwise the labels say MIG-INVALID.</summary>
    private static void AddMigSingle(SortedDictionary<string, string> labels, List<string> warnings, IReadOnlyList<GpuDevice> gpus, PluginOptions plugin)
    {
        var migGpus = gpus.Where(g => g.Mig.Enabled).ToList();
        if (migGpus.Count == 0)
        {
            return; // as mig-strategy none
        }

        var instances = migGpus.SelectMany(g => g.Mig.Instances.Select(i => (Gpu: g, Instance: i))).ToList();
        var profiles = instances.Select(i => i.Instance.Profile).Distinct(StringComparer.Ordinal).ToList();
        var problem =
            migGpus.Any(g => g.Mig.Instances.Count == 0) ? "a GPU in MIG mode has no MIG devices"
            : migGpus.Count != gpus.Count ? "some GPUs are in MIG mode and some are not"
            : profiles.Count != 1 ? $"more than one MIG profile ({string.Join(", ", profiles)})"
            : null;
        if (problem is not null)
        {
            warnings.Add($"mig-strategy single: {problem}; nvidia.com/gpu.product ends in -MIG-INVALID (use mig-strategy mixed)");
            labels[NodeLabelKeys.GpuProduct] = Product(null, migGpus[0].Model, "MIG", "INVALID");
            labels[NodeLabelKeys.GpuCount] = "0";
            labels[NodeLabelKeys.GpuReplicas] = "0";
            labels[NodeLabelKeys.GpuMemory] = "0";
            return;
        }

        var first = instances[0];
        labels[NodeLabelKeys.GpuProduct] = Product(plugin, first.Gpu.Model, "MIG", first.Instance.Profile);
        labels[NodeLabelKeys.GpuCount] = Number(instances.Count);
        labels[NodeLabelKeys.GpuReplicas] = Number(plugin.Replicas);
        labels[NodeLabelKeys.GpuMemory] = Number(first.Instance.MemoryMiB);
    }

    /// <summary>Mixed: each MIG profile as its own resource, labelled <c>nvidia.com/mig-&lt;profile&gt;.*</c>.</summary>
    private static void AddMigMixed(SortedDictionary<string, string> labels, IReadOnlyList<GpuDevice> gpus, PluginOptions plugin)
    {
        var byProfile = gpus
            .Where(g => g.Mig.Enabled)
            .SelectMany(g => g.Mig.Instances.Select(i => (Gpu: g, Instance: i)))
            .GroupBy(i => i.Instance.Profile, StringComparer.Ordinal);
        foreach (var profile in byProfile)
        {
            var prefix = "nvidia.com/" + MigKeyName(profile.Key) + ".";
            var first = profile.First();
            labels[prefix + "product"] = Product(plugin, first.Gpu.Model, "MIG", profile.Key);
            labels[prefix + "count"] = Number(profile.Count());
            labels[prefix + "replicas"] = Number(plugin.Replicas);
            labels[prefix + "memory"] = Number(first.Instance.MemoryMiB);
        }
    }

    /// <summary>Parts joined by <c>-</c>, spaces as <c>-</c>, <c>-SHARED</c> when shared under the plain name; sanitised. No sharing when <paramref name="plugin"/> is null.</summary>
    private static string Product(PluginOptions? plugin, params string[] parts)
    {
        var joined = LabelValue.Sanitize(string.Join('-', parts.Where(p => p.Length > 0).Select(p => p.Replace(' ', '-'))));
        if (plugin is not { Replicas: > 1, RenameShared: false })
        {
            return joined;
        }

        const string Shared = "SHARED";
        joined = LabelValue.Sanitize(joined[..Math.Min(joined.Length, LabelValue.MaxLength - Shared.Length - 1)]);
        return joined.Length == 0 ? Shared : joined + "-" + Shared;
    }

    /// <summary><c>mig-&lt;profile&gt;</c> as the name part of a key, short enough for the longest suffix.</summary>
    private static string MigKeyName(string profile)
    {
        var longest = NodeLabelKeys.MigProfileSuffixes.Max(s => s.Length) + 1;
        var name = LabelValue.Sanitize("mig-" + profile);
        return LabelValue.Sanitize(name[..Math.Min(name.Length, LabelValue.MaxLength - longest)]);
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
