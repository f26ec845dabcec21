using System.Globalization;
using System.Text;
using GpuDaemon.Devices;

namespace GpuDaemon.Validation;

/// <summary>
/// The status files in the validation directory: <c>KEY=value</c> lines a shell can source (values single-quoted
/// when they hold anything but plain characters), written whole through a temp file and a rename.
/// </summary>
public static class StatusFiles
{
    public const string DriverVersionKey = "DRIVER_VERSION";
    public const string CudaVersionKey = "CUDA_VERSION";
    public const string DriverRootKey = "DRIVER_ROOT";
    public const string GpuCountKey = "GPU_COUNT";
    public const string BackendKey = "BACKEND";
    public const string ValidatedAtKey = "VALIDATED_AT";
    public const string WarningsKey = "WARNINGS";

    public static IReadOnlyList<string> Names { get; } = [ValidationDefaults.DriverReadyFile, ValidationDefaults.CudaReadyFile];

    /// <summary>Removes both status files; the paths removed.</summary>
    public static IReadOnlyList<string> RemoveAll(string directory)
    {
        var removed = new List<string>();
        foreach (var name in Names)
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                File.Delete(path);
                removed.Add(path);
            }
        }

        return removed;
    }

    /// <summary>Writes the two status files for a report that passed; the paths written.</summary>
    public static IReadOnlyList<string> WriteReady(string directory, ValidationReport report, DateTimeOffset now)
    {
        var facts = report.Facts ?? throw new ArgumentException("a passing report has facts", nameof(report));
        Directory.CreateDirectory(directory);
        var at = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var gpus = facts.GpuCount.ToString(CultureInfo.InvariantCulture);
        var warnings = string.Join(",", report.Warnings.Select(w => w.Name));
        var driver = new List<KeyValuePair<string, string>>
        {
            new(DriverVersionKey, facts.DriverVersion),
            new(DriverRootKey, facts.DriverRoot),
            new(GpuCountKey, gpus),
            new(BackendKey, facts.Backend),
            new(ValidatedAtKey, at),
        };
        var cuda = new List<KeyValuePair<string, string>>
        {
            new(DriverVersionKey, facts.DriverVersion),
            new(CudaVersionKey, facts.CudaVersion ?? string.Empty),
            new(DriverRootKey, facts.DriverRoot),
            new(GpuCountKey, gpus),
            new(BackendKey, facts.Backend),
            new(WarningsKey, warnings),
            new(ValidatedAtKey, at),
        };
        return [Write(directory, ValidationDefaults.DriverReadyFile, driver), Write(directory, ValidationDefaults.CudaReadyFile, cuda)];
    }

    /// <summary>The file's keys and values; null when it does not exist or cannot be read.</summary>
    public static IReadOnlyDictionary<string, string>? Read(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        string text;
        try
        {
            if (!Devices.FileChangeMonitor.TryReadAllText(path, ValidationDefaults.MaxStatusFileBytes, out text))
            {
                return null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return Parse(text);
    }

    public static Dictionary<string, string> Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (line.Length == 0 || line.StartsWith('#') || equals <= 0)
            {
                continue;
            }

            values[line[..equals]] = Unquote(line[(equals + 1)..]);
        }

        return values;
    }

    public static string Format(IEnumerable<KeyValuePair<string, string>> values)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in values)
        {
            text.Append(key).Append('=').Append(Quote(value)).Append('\n');
        }

        return text.ToString();
    }

    private static string Write(string directory, string name, IEnumerable<KeyValuePair<string, string>> values)
    {
        var path = Path.Combine(directory, name);
        AtomicFile.WriteText(path, Format(values), Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"));
        return path;
    }

    private static string Quote(string text) => QuoteLine(text.ReplaceLineEndings(" "));

    private static string QuoteLine(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':' or ',' or '+')
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '\'' && value[^1] == '\''
            ? value[1..^1].Replace("'\\''", "'", StringComparison.Ordinal)
            : value;
}
