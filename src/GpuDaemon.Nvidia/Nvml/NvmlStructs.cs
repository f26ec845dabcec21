using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GpuDaemon.Nvidia.Nvml;

// Layouts as in the public nvml.h; NvmlStructLayoutTests pins their sizes.

/// <summary><c>nvmlPciInfo_t</c> (the layout the _v3 getter fills).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NvmlPciInfo
{
    public fixed byte BusIdLegacy[16];
    public uint Domain;
    public uint Bus;
    public uint Device;
    public uint PciDeviceId;
    public uint PciSubSystemId;
    public fixed byte BusId[32];

    public readonly string BusIdText
    {
        get
        {
            fixed (byte* text = BusId)
            {
                return NativeText.Decode(text, 32);
            }
        }
    }
}

/// <summary><c>nvmlMemory_t</c>: reserved memory counts as used.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlMemoryV1
{
    public ulong Total;
    public ulong Free;
    public ulong Used;
}

/// <summary><c>nvmlMemory_v2_t</c>: reserved memory reported on its own.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlMemoryV2
{
    /// <summary>The struct's size with its version (2) in the top byte, as the header's version macro builds it.</summary>
    public static readonly uint StructVersion = (uint)Unsafe.SizeOf<NvmlMemoryV2>() | (2u << 24);

    public uint Version;
    public ulong Total;
    public ulong Reserved;
    public ulong Free;
    public ulong Used;
}

/// <summary><c>nvmlUtilization_t</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlUtilization
{
    public uint Gpu;
    public uint Memory;
}

/// <summary><c>nvmlEventData_t</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlEventData
{
    public nint Device;
    public ulong EventType;
    public ulong EventData;
    public uint GpuInstanceId;
    public uint ComputeInstanceId;
}

/// <summary>Event type bits (<c>nvmlEventType*</c>).</summary>
internal static class NvmlEventTypes
{
    public const ulong DoubleBitEccError = 0x2;
    public const ulong XidCriticalError = 0x8;

    /// <summary>What GpuDaemon watches: Xid critical errors and double-bit ECC errors.</summary>
    public const ulong Watched = DoubleBitEccError | XidCriticalError;
}
