using System.Globalization;
using GpuDaemon.Devices;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace GpuDaemon.Cli.Settings;

/// <summary>
/// Reads a YAML (or JSON) config file of top-level settings, keys as in <see cref="SettingNames.ConfigKey"/>.
/// The file must be one mapping of scalar keys to scalar values. Unknown keys are refused, so a typo cannot
/// silently do nothing; so are duplicate keys, nested values, anchors and aliases, and more than one document.
/// </summary>
/// <remarks>
/// The file is read event by event (YamlDotNet's parser, which keeps no recursion), and anything nested is
/// refused at its first event, so a hostile file of deeply nested brackets costs one event, not the stack.
/// </remarks>
internal static class ConfigFileReader
{
    /// <summary>
    /// The largest config file read, in bytes (1 MiB). Every setting together fits in a few KB; a larger file
    /// is the wrong path (a log, a dump) and is refused before it is read whole into memory.
    /// </summary>
    public const int MaxFileBytes = 1024 * 1024;

    public static Dictionary<string, SettingValue> Read(string path, IReadOnlyCollection<string> knownNames)
    {
        string text;
        try
        {
            if (!FileChangeMonitor.TryReadAllText(path, MaxFileBytes, out text))
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"config file {path} is larger than {ByteSizes.Format(MaxFileBytes)}, the most GpuDaemon reads; check that the path names the config file"));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read config file {path}: {Excerpt.Of(ex.Message)}");
        }

        return Parse(text, path, knownNames);
    }

    /// <summary>Parses config text; <paramref name="path"/> only names the file in errors.</summary>
    public static Dictionary<string, SettingValue> Parse(string text, string path, IReadOnlyCollection<string> knownNames)
    {
        var origin = $"config file {path}";
        var byConfigKey = knownNames.ToDictionary(SettingNames.ConfigKey, n => n, StringComparer.Ordinal);
        var parser = new Parser(new StringReader(text));
        try
        {
            return ParseEvents(parser, origin, byConfigKey);
        }
        catch (YamlException ex)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{origin} is not valid YAML at line {ex.Start.Line}, column {ex.Start.Column}: {Excerpt.Of(ex.Message)}"));
        }
    }

    private static Dictionary<string, SettingValue> ParseEvents(Parser parser, string origin, Dictionary<string, string> byConfigKey)
    {
        var values = new Dictionary<string, SettingValue>(StringComparer.Ordinal);
        var keyLines = new Dictionary<string, long>(StringComparer.Ordinal);

        Expect<StreamStart>(parser, origin);
        if (Next(parser, origin) is not DocumentStart)
        {
            throw NoSettings(origin);
        }

        var root = Next(parser, origin);
        RefuseAnchor(root, origin);
        switch (root)
        {
            case Scalar scalar when IsNull(scalar):
                throw NoSettings(origin);
            case MappingStart:
                break;
            default:
                throw new UsageException(At(origin, root, "the file must be a mapping of settings (key: value), such as 'probeInterval: 5s'; write {} to use every default"));
        }

        while (Next(parser, origin) is var keyEvent and not MappingEnd)
        {
            var key = ScalarOrRefuse(keyEvent, origin, "a setting's name must be a single word, such as probeInterval");
            if (!byConfigKey.TryGetValue(key.Value, out var name))
            {
                var known = string.Join(", ", byConfigKey.Keys.Order(StringComparer.Ordinal));
                throw new UsageException(At(origin, key, $"unknown setting '{Excerpt.Of(key.Value)}'; known settings: {known}"));
            }

            if (keyLines.TryGetValue(key.Value, out var firstLine))
            {
                throw new UsageException(At(origin, key, string.Create(CultureInfo.InvariantCulture,
                    $"'{key.Value}' is set twice (lines {firstLine} and {key.Start.Line}); keep one")));
            }

            keyLines[key.Value] = key.Start.Line;
            var value = ScalarOrRefuse(Next(parser, origin), origin, $"'{key.Value}' must be a single value");
            values[name] = new SettingValue(value.Value, $"{origin} ({key.Value})");
        }

        Expect<DocumentEnd>(parser, origin);
        if (Next(parser, origin) is not StreamEnd)
        {
            throw new UsageException(At(origin, parser.Current!, "a second YAML document (after ---); the config file holds one mapping of settings"));
        }

        return values;
    }

    private static ParsingEvent Next(Parser parser, string origin)
    {
        if (!parser.MoveNext() || parser.Current is null)
        {
            // The parser ends a stream with StreamEnd, so this means a file cut short.
            throw new UsageException($"{origin} ends unexpectedly");
        }

        return parser.Current;
    }

    private static void Expect<T>(Parser parser, string origin)
        where T : ParsingEvent
    {
        var next = Next(parser, origin);
        if (next is not T)
        {
            throw new UsageException(At(origin, next, "unexpected YAML structure; the file must be one mapping of settings (key: value)"));
        }
    }

    // A key or value must be a plain scalar. Anything else is refused at its first event, without reading into it.
    private static Scalar ScalarOrRefuse(ParsingEvent next, string origin, string mustBe)
    {
        RefuseAnchor(next, origin);
        return next switch
        {
            Scalar scalar => scalar,
            AnchorAlias => throw new UsageException(At(origin, next, "aliases (*name) are not supported; write the value itself")),
            _ => throw new UsageException(At(origin, next, mustBe + ", not a list or mapping")),
        };
    }

    private static void RefuseAnchor(ParsingEvent next, string origin)
    {
        if (next is NodeEvent { Anchor.IsEmpty: false })
        {
            throw new UsageException(At(origin, next, "anchors (&name) are not supported; write each value itself"));
        }
    }

    private static bool IsNull(Scalar scalar) =>
        scalar.Style == ScalarStyle.Plain && scalar.Value is "" or "~" or "null" or "Null" or "NULL";

    private static UsageException NoSettings(string origin) =>
        new($"{origin} has no settings (empty or only comments); the last good settings stay in force — write {{}} to use every default");

    private static string At(string origin, ParsingEvent at, string problem) =>
        string.Create(CultureInfo.InvariantCulture, $"{origin}, line {at.Start.Line}: {problem}");
}
