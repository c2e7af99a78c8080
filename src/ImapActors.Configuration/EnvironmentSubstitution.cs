using System.Text;
using System.Text.RegularExpressions;

namespace ImapActors.Configuration;

/// <summary>
/// Environment substitutions for Akka's HOCON parser, which resolves neither <c>${NAME}</c> from the environment nor
/// <c>${?NAME}</c>. Before parsing, each such substitution (a name without dots, outside strings and comments) becomes
/// a marker string; the loader reads the variable when it reads the key. The marker also tells the loader that a
/// secret came from the environment and not from the file. The same pass checks that brackets balance.
/// </summary>
internal static partial class EnvironmentSubstitution
{
    /// <summary>A private-use character no configuration value starts with.</summary>
    public const char Marker = '\uE000';

    public static string Rewrite(string hocon)
    {
        var output = new StringBuilder(hocon.Length);
        var open = new Stack<(char Bracket, int Line)>();
        var i = 0;
        while (i < hocon.Length)
        {
            var c = hocon[i];
            if (c == '"' && string.CompareOrdinal(hocon, i, "\"\"\"", 0, 3) == 0)
            {
                var end = hocon.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                end = end < 0 ? hocon.Length : end + 3;
                output.Append(hocon, i, end - i);
                i = end;
            }
            else if (c == '"')
            {
                var j = i + 1;
                while (j < hocon.Length && hocon[j] != '"' && hocon[j] != '\n')
                {
                    j += hocon[j] == '\\' ? 2 : 1;
                }

                j = Math.Min(hocon.Length, j + 1);
                output.Append(hocon, i, j - i);
                i = j;
            }
            else if (c == '#' || (c == '/' && i + 1 < hocon.Length && hocon[i + 1] == '/'))
            {
                var end = hocon.IndexOf('\n', i);
                end = end < 0 ? hocon.Length : end;
                output.Append(hocon, i, end - i);
                i = end;
            }
            else if (c == '$' && i + 1 < hocon.Length && hocon[i + 1] == '{' && hocon.IndexOf('}', i) is var close and > 0)
            {
                if (EnvironmentName().Match(hocon[(i + 2)..close]) is { Success: true } match)
                {
                    output.Append('"').Append(Marker).Append(match.Groups[1].Value).Append(match.Groups[2].Value).Append('"');
                }
                else
                {
                    output.Append(hocon, i, close + 1 - i);
                }

                i = close + 1;
            }
            else if (c is '{' or '[')
            {
                open.Push((c, Line(hocon, i)));
                output.Append(c);
                i++;
            }
            else if (c is '}' or ']')
            {
                var expected = c == '}' ? '{' : '[';
                if (open.Count == 0 || open.Peek().Bracket != expected)
                {
                    throw Unbalanced($"'{c}' on line {Line(hocon, i)} closes nothing"
                        + (open.Count > 0 ? $" (the '{open.Peek().Bracket}' of line {open.Peek().Line} is still open)" : ""));
                }

                open.Pop();
                output.Append(c);
                i++;
            }
            else
            {
                output.Append(c);
                i++;
            }
        }

        if (open.Count > 0)
        {
            throw Unbalanced($"the '{open.Peek().Bracket}' of line {open.Peek().Line} is never closed");
        }

        return output.ToString();
    }

    private static int Line(string text, int index) => text.AsSpan(0, index).Count('\n') + 1;

    // Akka's parser loops forever on some unbalanced input ("a = [ }") and accepts other unbalanced input silently.
    private static ConfigurationException Unbalanced(string what) => new([$"not valid HOCON: {what}"]);

    [GeneratedRegex(@"^\s*(\??)\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")]
    private static partial Regex EnvironmentName();
}
