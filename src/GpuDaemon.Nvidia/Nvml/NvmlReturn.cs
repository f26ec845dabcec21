using System.Globalization;
using System.Text;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>NVML's return codes (<c>nvmlReturn_t</c>), values as in the public header.</summary>
public enum NvmlReturn
{
    Success = 0,
    Uninitialized = 1,
    InvalidArgument = 2,
    NotSupported = 3,
    NoPermission = 4,
    AlreadyInitialized = 5,
    NotFound = 6,
    InsufficientSize = 7,
    InsufficientPower = 8,
    DriverNotLoaded = 9,
    Timeout = 10,
    IrqIssue = 11,
    LibraryNotFound = 12,
    FunctionNotFound = 13,
    CorruptedInforom = 14,
    GpuIsLost = 15,
    ResetRequired = 16,
    OperatingSystem = 17,
    LibRmVersionMismatch = 18,
    InUse = 19,
    Memory = 20,
    NoData = 21,
    VgpuEccNotSupported = 22,
    InsufficientResources = 23,
    FreqNotSupported = 24,
    ArgumentVersionMismatch = 25,
    Deprecated = 26,
    NotReady = 27,
    GpuNotFound = 28,
    InvalidState = 29,
    ResetTypeNotSupported = 30,
    Unknown = 999,
}

internal static class NvmlReturnExtensions
{
    /// <summary>The header's name for the code, e.g. <c>NVML_ERROR_GPU_IS_LOST</c>; codes newer than GpuDaemon read as a number.</summary>
    public static string ConstantName(this NvmlReturn code)
    {
        if (code == NvmlReturn.Success)
        {
            return "NVML_SUCCESS";
        }

        if (!Enum.IsDefined(code))
        {
            return string.Create(CultureInfo.InvariantCulture, $"NVML_ERROR_{(int)code}");
        }

        var name = code.ToString();
        var builder = new StringBuilder("NVML_ERROR_", 11 + (name.Length * 2));
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                builder.Append('_');
            }

            builder.Append(char.ToUpperInvariant(name[i]));
        }

        return builder.ToString();
    }

    /// <summary>Answers that mean "this GPU or driver does not have that", which is normal, not a fault.</summary>
    public static bool IsUnsupported(this NvmlReturn code) =>
        code is NvmlReturn.NotSupported or NvmlReturn.FunctionNotFound;
}
