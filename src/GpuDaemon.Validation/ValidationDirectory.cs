namespace GpuDaemon.Validation;

/// <summary>
/// The validation directory must be writable: the status files and the install lock live there. A directory that is
/// not (a read-only mount, a file in its place, no permission) is said in one line, before any check runs.
/// </summary>
internal static class ValidationDirectory
{
    /// <summary>Creates the directory if needed and writes and removes a probe file in it.</summary>
    public static void EnsureWritable(string directory) => Guard(directory, () =>
    {
        Directory.CreateDirectory(directory);
        var probe = Path.Combine(directory, $".write-probe.{Environment.ProcessId}.{Guid.NewGuid():N}");
        File.WriteAllBytes(probe, []);
        File.Delete(probe);
        return true;
    });

    /// <summary>Runs <paramref name="action"/>; a file-system failure becomes a <see cref="ValidationDirectoryException"/>.</summary>
    public static T Guard<T>(string directory, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ValidationDirectoryException.For(directory, ex);
        }
    }

    /// <summary>
    /// <see cref="Guard{T}"/> for the install lock. Only a refused permission is turned into the one-line error: the
    /// lock itself reads an <see cref="IOException"/> as "another validator holds it", and a read-only directory has
    /// already been refused by <see cref="EnsureWritable"/> before any lock is taken.
    /// </summary>
    public static async Task<T> GuardAsync<T>(string directory, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException)
        {
            throw ValidationDirectoryException.For(directory, ex);
        }
    }
}

/// <summary>The validation directory cannot be written; the message is one line with what to do.</summary>
public sealed class ValidationDirectoryException : Exception
{
    public ValidationDirectoryException()
    {
    }

    public ValidationDirectoryException(string message)
        : base(message)
    {
    }

    public ValidationDirectoryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static ValidationDirectoryException For(string directory, Exception cause) => new(
        $"cannot write to --validation-dir {directory} ({cause.Message.ReplaceLineEndings(" ").TrimEnd('.')}): mount it read-write (an emptyDir or a hostPath such as {ValidationDefaults.Directory} without readOnly) or point --validation-dir at a writable directory",
        cause);
}
