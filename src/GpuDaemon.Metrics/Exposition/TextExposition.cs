using System.Globalization;
using System.Text;

namespace GpuDaemon.Metrics.Exposition;

/// <summary>
/// Writes metric families in the Prometheus text format 0.0.4, as UTF-8: a HELP and a TYPE line per family, then
/// its samples. Label values are escaped (backslash, double quote, newline), help text too (backslash, newline).
/// A sample's labels are copied from its <see cref="LabelSet"/>'s encoded form, written once per set.
/// </summary>
internal static class TextExposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The longest a number can be written: "-1.7976931348623157E+308" and some room.</summary>
    private const int MaxValueBytes = 32;

    public static void Write(ScrapeBuffer output, IEnumerable<MetricFamily> families)
    {
        foreach (var family in families)
        {
            WriteFamily(output, family.Name, family.Help, family.Type, family.Samples);
        }
    }

    /// <summary>The families as a string; for tests and callers that want text, not for the response path.</summary>
    public static string Write(IEnumerable<MetricFamily> families)
    {
        using var output = new ScrapeBuffer();
        Write(output, families);
        return output.ToString();
    }

    /// <summary>One family: HELP and TYPE, then each sample in the order given.</summary>
    public static void WriteFamily(ScrapeBuffer output, string name, string help, MetricType type, List<Sample> samples)
    {
        output.Write("# HELP "u8);
        output.WriteUtf8(name);
        output.Write(" "u8);
        WriteEscaped(output, help, escapeQuote: false);
        output.Write("\n# TYPE "u8);
        output.WriteUtf8(name);
        output.Write(TypeName(type));
        foreach (var sample in samples)
        {
            output.WriteUtf8(name);
            if (sample.Suffix.Length > 0)
            {
                output.WriteUtf8(sample.Suffix);
            }

            output.Write(sample.Labels.Encoded);
            var span = output.GetSpan(MaxValueBytes + 2);
            span[0] = (byte)' ';
            var written = WriteValue(span[1..], sample.Value);
            span[1 + written] = (byte)'\n';
            output.Advance(written + 2);
        }
    }

    /// <summary><c>{name="value",…}</c> with values escaped, as UTF-8; nothing when there are no labels. One array, sized first.</summary>
    public static byte[] EncodeLabels(ReadOnlySpan<Label> labels)
    {
        if (labels.IsEmpty)
        {
            return [];
        }

        var length = 1;
        foreach (var label in labels)
        {
            length += Encoding.UTF8.GetByteCount(label.Name) + Encoding.UTF8.GetByteCount(Escape(label.Value, escapeQuote: true)) + 4; // ="", or }
        }

        var bytes = new byte[length];
        var at = 0;
        bytes[at++] = (byte)'{';
        for (var i = 0; i < labels.Length; i++)
        {
            if (i > 0)
            {
                bytes[at++] = (byte)',';
            }

            at += Encoding.UTF8.GetBytes(labels[i].Name, bytes.AsSpan(at));
            bytes[at++] = (byte)'=';
            bytes[at++] = (byte)'"';
            at += Encoding.UTF8.GetBytes(Escape(labels[i].Value, escapeQuote: true), bytes.AsSpan(at));
            bytes[at++] = (byte)'"';
        }

        bytes[at] = (byte)'}';
        return bytes;
    }

    /// <summary>Integers without exponent or decimals (up to 2^53, where doubles stop being exact), others round-trippable.</summary>
    public static string FormatValue(double value)
    {
        Span<byte> bytes = stackalloc byte[MaxValueBytes];
        return Encoding.ASCII.GetString(bytes[..WriteValue(bytes, value)]);
    }

    private static int WriteValue(Span<byte> output, double value)
    {
        if (double.IsNaN(value))
        {
            "NaN"u8.CopyTo(output);
            return 3;
        }

        if (double.IsPositiveInfinity(value))
        {
            "+Inf"u8.CopyTo(output);
            return 4;
        }

        if (double.IsNegativeInfinity(value))
        {
            "-Inf"u8.CopyTo(output);
            return 4;
        }

        int written;
        var formatted = value == Math.Floor(value) && Math.Abs(value) < 9007199254740992d
            ? ((long)value).TryFormat(output, out written, default, CultureInfo.InvariantCulture)
            : value.TryFormat(output, out written, "R", CultureInfo.InvariantCulture);
        return formatted ? written : throw new InvalidOperationException($"{value} does not fit in {MaxValueBytes} bytes");
    }

    private static ReadOnlySpan<byte> TypeName(MetricType type) => type switch
    {
        MetricType.Counter => " counter\n"u8,
        MetricType.Histogram => " histogram\n"u8,
        _ => " gauge\n"u8,
    };

    private static void WriteEscaped(ScrapeBuffer output, string text, bool escapeQuote) => output.WriteUtf8(Escape(text, escapeQuote));

    /// <summary>The text itself when nothing needs escaping (almost always), else an escaped copy.</summary>
    private static string Escape(string text, bool escapeQuote)
    {
        if ((escapeQuote ? text.AsSpan().IndexOfAny('\\', '\n', '"') : text.AsSpan().IndexOfAny('\\', '\n')) < 0)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    escaped.Append("\\\\");
                    break;
                case '\n':
                    escaped.Append("\\n");
                    break;
                case '"' when escapeQuote:
                    escaped.Append("\\\"");
                    break;
                default:
                    escaped.Append(c);
                    break;
            }
        }

        return escaped.ToString();
    }
}
