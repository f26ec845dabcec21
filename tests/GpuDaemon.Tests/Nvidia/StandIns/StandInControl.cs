using System.Runtime.InteropServices;

namespace GpuDaemon.Tests.Nvidia.StandIns;

/// <summary>The NVML stand-in's exports for tests (not part of NVML): deliver events, lose a GPU, hang a call, count inits.</summary>
public sealed unsafe class StandInControl
{
    public const ulong DoubleBitEccEvent = 0x2;
    public const ulong XidEvent = 0x8;

    private readonly nint _library;

    public StandInControl(string libraryPath)
    {
        _library = NativeLibrary.Load(libraryPath);
    }

    /// <summary>Queues an event for every event set watching it on that GPU; returns how many sets took it.</summary>
    public int RaiseEvent(int gpu, ulong type, ulong data) =>
        ((delegate* unmanaged<int, ulong, ulong, int>)Export("standin_raise_event"))(gpu, type, data);

    public int RaiseXid(int gpu, int xid) => RaiseEvent(gpu, XidEvent, (ulong)xid);

    /// <summary>Makes every call about the GPU answer GPU_IS_LOST (or stop doing so).</summary>
    public void SetLost(int gpu, bool lost) =>
        ((delegate* unmanaged<int, int, void>)Export("standin_set_lost"))(gpu, lost ? 1 : 0);

    /// <summary>Makes nvmlDeviceGetTemperature (the health check) for the GPU block until released (a hung driver call).</summary>
    public void SetTemperatureHang(int gpu, bool hang) =>
        ((delegate* unmanaged<int, int, void>)Export("standin_set_temperature_hang"))(gpu, hang ? 1 : 0);

    /// <summary>Calls blocked in nvmlDeviceGetTemperature for the GPU right now.</summary>
    public int HungCalls(int gpu) => ((delegate* unmanaged<int, int>)Export("standin_hung_calls"))(gpu);

    /// <summary>nvmlInit_v2 calls not yet matched by nvmlShutdown.</summary>
    public int InitCount => ((delegate* unmanaged<int>)Export("standin_init_count"))();

    /// <summary>Event sets created and not yet freed.</summary>
    public int EventSetCount => ((delegate* unmanaged<int>)Export("standin_event_set_count"))();

    /// <summary>GPM samples allocated and not yet freed.</summary>
    public int GpmSamples => ((delegate* unmanaged<int>)Export("standin_gpm_samples"))();

    private nint Export(string name) => NativeLibrary.GetExport(_library, name);
}
