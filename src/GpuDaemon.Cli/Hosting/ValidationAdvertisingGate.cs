using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Validation.Gate;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The device plugin's advertising gate, answered by the validation gate (the two subsystems know nothing of each other).</summary>
internal sealed class ValidationAdvertisingGate(ValidationGate gate) : IAdvertisingGate
{
    public bool IsOpen => gate.State.IsOpen;

    public string Reason => gate.State.Reason;

    public ChangeSignal Changed => gate.Changed;
}
