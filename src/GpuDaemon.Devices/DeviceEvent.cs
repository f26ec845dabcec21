namespace GpuDaemon.Devices;

public enum DeviceEventKind
{
    /// <summary>The driver reported an Xid error; <see cref="DeviceEvent.XidCode"/> says which.</summary>
    Xid,

    /// <summary>A double-bit (uncorrectable) ECC error.</summary>
    EccDoubleBit,

    /// <summary>The GPU fell off the bus or stopped answering.</summary>
    Lost,

    /// <summary>The backend's own health check failed (see <see cref="DeviceEvent.Reason"/>).</summary>
    ProbeFailed,

    /// <summary>The condition behind an earlier fault has cleared; the GPU answers its checks again.</summary>
    Recovered,
}

/// <summary>Something that happened to one GPU. The device plugin decides what it means for health.</summary>
public sealed record DeviceEvent(DeviceEventKind Kind, string Uuid, DateTimeOffset Timestamp, string Reason, int? XidCode = null)
{
    public override string ToString() => Kind == DeviceEventKind.Xid
        ? $"{Uuid}: Xid {XidCode} ({Reason})"
        : $"{Uuid}: {Kind} ({Reason})";
}
