using System.Globalization;
using System.Text;

namespace GpuDaemon.Devices;

/// <summary>
/// Text that came from outside (a file's content, a setting's value) as it is quoted in a one-line error or log
/// message: control and other invisible characters escaped (<c>\n</c>, <c>\u001b</c>), and cut short, so neither a
/// binary file nor a huge value can break the line, drive a terminal, or bury the message.
/// </summary>
public static class Excerpt
{
    /// <summary>
    /// The most characters quoted (80, a little more when the last one is an escape): enough to recognise a value
    /// or a token, short enough that the message around it stays one readable line.
    /// </summary>
    public const int MaxLength = 80;

    /// <summary>
    /// <paramref name="raw"/> with every control, format, line- or paragraph-separator character and every unpaired
    /// surrogate escaped, cut to about <paramref name="maxLength"/> characters with <c>…</c> marking the cut.
    /// </summary>
    public static string Of(string raw, int maxLength = MaxLength)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var builder = new StringBuilder(Math.Min(raw.Length, maxLength) + 8);
        for (var i = 0; i < raw.Length; i++)
        {
            if (builder.Length >= maxLength)
            {
                return builder.Append('…').ToString();
            }

            var c = raw[i];
            if (char.IsHighSurrogate(c) && i + 1 < raw.Length && char.IsLowSurrogate(raw[i + 1]))
            {
                // A pair is one character (an emoji, say); it is kept whole, never cut in two.
                builder.Append(c).Append(raw[++i]);
                continue;
            }

            _ = c switch
            {
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                _ when NeedsEscape(c) => builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => builder.Append(c),
            };
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(char c) => char.GetUnicodeCategory(c) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
        or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate;
}
