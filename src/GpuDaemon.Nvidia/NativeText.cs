using System.Runtime.InteropServices;
using System.Text;

namespace GpuDaemon.Nvidia;

/// <summary>C strings coming back from the driver's libraries, as UTF-8.</summary>
internal static class NativeText
{
    /// <summary>A NUL-terminated string in a buffer of known size (the whole buffer when no NUL).</summary>
    public static unsafe string Decode(byte* buffer, int capacity)
    {
        var span = new ReadOnlySpan<byte>(buffer, capacity);
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    /// <summary>A NUL-terminated string the library owns (e.g. an error description).</summary>
    public static unsafe string FromNullTerminated(byte* text) =>
        Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(text));
}
