namespace GpuDaemon.Nvidia.Cuda;

/// <summary>
/// A kernel's arguments in order. Each sits in its own 8-byte slot (little-endian, so a 4-byte argument
/// reads correctly from the slot's start), and the launch passes the driver one pointer per slot.
/// </summary>
internal sealed class CudaKernelArguments
{
    private readonly List<ulong> _slots = [];

    internal ulong[] Slots => [.. _slots];

    public CudaKernelArguments Add(CudaDeviceBuffer buffer) => AddSlot(buffer.DevicePointer);

    public CudaKernelArguments Add(uint value) => AddSlot(value);

    public CudaKernelArguments Add(int value) => AddSlot(unchecked((uint)value));

    public CudaKernelArguments Add(ulong value) => AddSlot(value);

    public CudaKernelArguments Add(float value) => AddSlot(BitConverter.SingleToUInt32Bits(value));

    private CudaKernelArguments AddSlot(ulong value)
    {
        _slots.Add(value);
        return this;
    }
}
