namespace GpuDaemon.Devices;

/// <summary>An immutable snapshot of the node's GPUs. A new one is published whenever something changes.</summary>
public sealed record GpuInventory(DriverInfo Driver, IReadOnlyList<GpuDevice> Gpus)
{
    public static readonly GpuInventory Empty = new(DriverInfo.NotLoaded, []);

    public GpuDevice? FindByUuid(string uuid) => Gpus.FirstOrDefault(g => string.Equals(g.Uuid, uuid, StringComparison.Ordinal));

    /// <summary>Same driver and same GPUs, field by field (records compare lists by reference).</summary>
    public bool IsEquivalentTo(GpuInventory other)
    {
        if (Driver != other.Driver || Gpus.Count != other.Gpus.Count)
        {
            return false;
        }

        for (var i = 0; i < Gpus.Count; i++)
        {
            var a = Gpus[i];
            var b = other.Gpus[i];
            if (a with { NvLinkPeers = [], Mig = MigState.NotCapable } != b with { NvLinkPeers = [], Mig = MigState.NotCapable }
                || !a.NvLinkPeers.SequenceEqual(b.NvLinkPeers)
                || a.Mig.Capable != b.Mig.Capable
                || a.Mig.Enabled != b.Mig.Enabled
                || !a.Mig.Instances.SequenceEqual(b.Mig.Instances))
            {
                return false;
            }
        }

        return true;
    }
}
