using System.Text;
using GpuDaemon.Devices;

namespace GpuDaemon.NodeLabels;

/// <summary>
/// The label file as Node Feature Discovery's local source reads it: one <c>key=value</c> per line. Written
/// atomically: a dot-file in the same folder (NFD skips those), flushed to disk, renamed over the file.
/// </summary>
internal static class NodeLabelFile
{
    public static string Render(NodeLabelSet labels)
    {
        var text = new StringBuilder();
        foreach (var label in labels.Labels)
        {
            text.Append(label.Key).Append('=').Append(label.Value).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Writes <paramref name="content"/> unless the file already holds exactly it; returns whether it wrote. Errors are IO exceptions.</summary>
    public static bool WriteIfChanged(string directory, string content)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"the folder {directory} does not exist");
        }

        var path = Path.Combine(directory, NodeLabelsOptions.FileName);
        var bytes = Encoding.UTF8.GetBytes(content);
        if (Holds(path, bytes))
        {
            return false;
        }

        AtomicFile.Write(path, bytes, Path.Combine(directory, NodeLabelsOptions.TemporaryFileName));
        return true;
    }

    /// <summary>Removes a dot-file a crash left between write and rename; false when there was none.</summary>
    public static bool RemoveLeftover(string directory)
    {
        var temporary = Path.Combine(directory, NodeLabelsOptions.TemporaryFileName);
        if (!File.Exists(temporary))
        {
            return false;
        }

        File.Delete(temporary);
        return true;
    }

    private static bool Holds(string path, byte[] content)
    {
        var file = new FileInfo(path);
        // Read back only a file exactly as long as the new content (bounded by MaxLabels); any other is replaced unread.
        if (!file.Exists || file.Length != content.Length)
        {
            return false;
        }

        try
        {
            return File.ReadAllBytes(path).AsSpan().SequenceEqual(content);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
