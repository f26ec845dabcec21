namespace GpuDaemon.Cli;

/// <summary>The user asked for something that cannot work as given (exit code 2). The message is one line.</summary>
internal sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
