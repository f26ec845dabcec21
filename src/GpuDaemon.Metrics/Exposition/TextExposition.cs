using System.Globalization;
using System.Text;

namespace GpuDaemon.Metrics.Exposition;

/// <summary>
/// Writes metric families in the Prometheus text format 0.0.4: a HELP and a TYPE line per family, then its
/// samples. Label values are escaped (backslash, double quote, newline), help text too (backslash, newline).
/// </summary>
internal static class TextExposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void Write(StringBuilder output, IEnumerable<MetricFamily> families)
    {
        foreach (var family in families)
        {
            output.Append("# HELP ").Append(family.Name).Append(' ');
            AppendEscaped(output, family.Help, escapeQuote: false);
            output.Append('\n');
            output.Append("# TYPE ").Append(family.Name).Append(' ').Append(TypeName(family.Type)).Append('\n');
            foreach (var sample in family.Samples)
            {
                output.Append(family.Name).Append(sample.Suffix);
                if (sample.Labels.Length > 0)
                {
                    output.Append('{');
                    for (var i = 0; i < sample.Labels.Length; i++)
                    {
                        if (i > 0)
                        {
                            output.Append(',');
                        }

                        output.Append(sample.Labels[i].Name).Append("=\"");
                        AppendEscaped(output, sample.Labels[i].Value, escapeQuote: true);
                        output.Append('"');
                    }

                    output.Append('}');
                }

                output.Append(' ');
                AppendValue(output, sample.Value);
                output.Append('\n');
            }
        }
    }

    public static string Write(IEnumerable<MetricFamily> families)
    {
        var output = new StringBuilder();
        Write(output, families);
        return output.ToString();
    }

    /// <summary>Integers without exponent or decimals (up to 2^53, where doubles stop being exact), others round-trippable.</summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        if (value == Math.Floor(value) && Math.Abs(value) < 9007199254740992d)
        {
            return ((long)value).ToString(CultureInfo.InvariantCulture);
        }

        return value.ToString("R", CultureInfo.InvariantCulture);
    }

    private static string TypeName(MetricType type) => type switch
    {
        MetricType.Counter => "counter",
        MetricType.Histogram => "histogram",
        _ => "gauge",
    };

    /// <summary>As <see cref="FormatValue"/>, without a string for the common integer case.</summary>
    private static void AppendValue(StringBuilder output, double value)
    {
        if (value == Math.Floor(value) && Math.Abs(value) < 9007199254740992d)
        {
            output.Append((long)value);
            return;
        }

        output.Append(FormatValue(value));
    }

    private static void AppendEscaped(StringBuilder output, string text, bool escapeQuote)
    {
        // Almost every help text and label value needs no escaping: append it whole.
        if ((escapeQuote ? text.AsSpan().IndexOfAny('\\', '\n', '"') : text.AsSpan().IndexOfAny('\\', '\n')) < 0)
        {
            output.Append(text);
            return;
        }

        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    output.Append("\\\\");
                    break;
                case '\n':
                    output.Append("\\n");
                    break;
                case '"' when escapeQuote:
                    output.Append("\\\"");
                    break;
                default:
                    output.Append(c);
                    break;
            }
        }
    }
}
