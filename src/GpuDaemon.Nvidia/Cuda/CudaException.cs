using System.Globalization;

namespace GpuDaemon.Nvidia.Cuda;

/// <summary>A CUDA driver call that did not succeed: which function, which code, and the driver's name and words for it.</summary>
internal sealed class CudaException : Exception
{
    public CudaException()
    {
        Function = string.Empty;
        Description = string.Empty;
    }

    public CudaException(string message)
        : base(message)
    {
        Function = string.Empty;
        Description = string.Empty;
    }

    public CudaException(string message, Exception innerException)
        : base(message, innerException)
    {
        Function = string.Empty;
        Description = string.Empty;
    }

    public CudaException(string function, CudaResult code, string codeName, string description)
        : base(string.Create(CultureInfo.InvariantCulture, $"{function} returned {codeName} ({(int)code}: {description})"))
    {
        Function = function;
        Code = code;
        Description = description;
    }

    /// <summary>The driver entry point, e.g. <c>cuInit</c>.</summary>
    public string Function { get; }

    public CudaResult Code { get; }

    /// <summary>What <c>cuGetErrorString</c> says about the code.</summary>
    public string Description { get; }
}
