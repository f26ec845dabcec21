using System.Globalization;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>An NVML call that did not succeed: which function, which code, and NVML's own words for it.</summary>
internal sealed class NvmlException : Exception
{
    public NvmlException()
    {
        Function = string.Empty;
        Description = string.Empty;
    }

    public NvmlException(string message)
        : base(message)
    {
        Function = string.Empty;
        Description = string.Empty;
    }

    public NvmlException(string message, Exception innerException)
        : base(message, innerException)
    {
        Function = string.Empty;
        Description = string.Empty;
    }

    public NvmlException(string function, NvmlReturn code, string description)
        : base(Describe(function, code, description))
    {
        Function = function;
        Code = code;
        Description = description;
    }

    /// <summary>The NVML entry point, e.g. <c>nvmlDeviceGetPowerUsage</c>.</summary>
    public string Function { get; }

    public NvmlReturn Code { get; }

    /// <summary>What <c>nvmlErrorString</c> says about the code.</summary>
    public string Description { get; }

    public static string Describe(string function, NvmlReturn code, string description) =>
        string.Create(CultureInfo.InvariantCulture, $"{function} returned {code.ConstantName()} ({(int)code}: {description})");
}
