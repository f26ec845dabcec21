using System.Text;

namespace GpuDaemon.Devices;

/// <summary>
/// Replaces a file whole: the content goes to a temporary file in the same folder, is flushed to disk, and is
/// renamed over the target, so a reader (a watcher, NFD, a shell sourcing it) never sees half of it.
/// </summary>
public static class AtomicFile
{
    /// <param name="temporaryPath">Beside <paramref name="path"/> (a rename does not cross file systems); removed again if the write fails.</param>
    public static void Write(string path, ReadOnlySpan<byte> content, string temporaryPath)
    {
        try
        {
            using (var stream = new FileStream(temporaryPath, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporaryPath, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporaryPath);
            throw;
        }
    }

    /// <summary>The text as UTF-8 without a byte-order mark.</summary>
    public static void WriteText(string path, string content, string temporaryPath) =>
        Write(path, Encoding.UTF8.GetBytes(content), temporaryPath);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
