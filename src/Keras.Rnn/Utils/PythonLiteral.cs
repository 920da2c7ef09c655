using System.Globalization;
using System.Text;

namespace Keras.Rnn.Utils;

/// <summary>
/// A small, strict parser for the Python literal that forms an <c>.npy</c> header (what NumPy reads with
/// <c>ast.literal_eval</c>): dicts, tuples, lists, single- or double-quoted strings, integers (with Python 2's
/// <c>L</c> suffix), <c>True</c>, <c>False</c> and <c>None</c>. Anything else (floats, expressions, comments, calls)
/// is rejected. Nesting depth is bounded, every step consumes input, so hostile text cannot recurse deeply or loop.
/// </summary>
/// <remarks>
/// Values are returned as: <see cref="PyDict"/>, <see cref="PyTuple"/>, <see cref="PyList"/>, <see cref="string"/>,
/// <see cref="PyInt"/>, <see cref="bool"/> and <see cref="PyNone"/>. Errors are <see cref="FormatException"/>s whose
/// message says what was expected at which character.
/// </remarks>
internal sealed class PythonLiteral
{
    /// <summary>Deepest nesting of brackets accepted (a plain-array header nests two levels).</summary>
    internal const int MaxDepth = 16;

    /// <summary>Integer literals longer than this many digits are kept as text only (they cannot fit a long anyway).</summary>
    private const int MaxIntegerDigits = 40;

    private readonly string _text;
    private int _pos;

    private PythonLiteral(string text) => _text = text;

    /// <summary>A Python integer literal: its value when it fits a <see cref="long"/>, and its text.</summary>
    internal readonly record struct PyInt(long? Value, string Text)
    {
        public override string ToString() => Text;
    }

    /// <summary>Python's <c>None</c>.</summary>
    internal sealed class PyNone
    {
        public static readonly PyNone Instance = new();
        private PyNone() { }
        public override string ToString() => "None";
    }

    /// <summary>A Python tuple.</summary>
    internal sealed record PyTuple(IReadOnlyList<object> Items);

    /// <summary>A Python list.</summary>
    internal sealed record PyList(IReadOnlyList<object> Items);

    /// <summary>A Python dict with string keys, in source order.</summary>
    internal sealed record PyDict(IReadOnlyList<KeyValuePair<string, object>> Entries);

    /// <summary>Parses <paramref name="text"/>, which must hold exactly one literal (surrounding whitespace allowed).</summary>
    /// <exception cref="FormatException">The text is not one supported Python literal.</exception>
    public static object Parse(string text)
    {
        var parser = new PythonLiteral(text);
        parser.SkipWhitespace();
        var value = parser.ParseValue(0);
        parser.SkipWhitespace();
        if (parser._pos != text.Length)
            throw parser.Error("end of the literal");
        return value;
    }

    /// <summary>A short Python-like representation of a parsed value, for error messages.</summary>
    public static string Repr(object? value, int maxLength = 120)
    {
        var sb = new StringBuilder();
        Append(sb, value, maxLength);
        return sb.Length > maxLength ? sb.ToString(0, maxLength) + "..." : sb.ToString();
    }

    private static void Append(StringBuilder sb, object? value, int budget)
    {
        if (sb.Length > budget) return;
        switch (value)
        {
            case null:
            case PyNone:
                sb.Append("None");
                break;
            case bool b:
                sb.Append(b ? "True" : "False");
                break;
            case string s:
                sb.Append('\'');
                foreach (var c in s)
                {
                    if (c == '\'' || c == '\\') sb.Append('\\').Append(c);
                    else if (c < ' ' || c == '\x7f') sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    if (sb.Length > budget) return;
                }
                sb.Append('\'');
                break;
            case PyInt i:
                sb.Append(i.Text);
                break;
            case PyTuple t:
                sb.Append('(');
                for (int k = 0; k < t.Items.Count; k++)
                {
                    if (k > 0) sb.Append(", ");
                    Append(sb, t.Items[k], budget);
                    if (sb.Length > budget) return;
                }
                if (t.Items.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case PyList l:
                sb.Append('[');
                for (int k = 0; k < l.Items.Count; k++)
                {
                    if (k > 0) sb.Append(", ");
                    Append(sb, l.Items[k], budget);
                    if (sb.Length > budget) return;
                }
                sb.Append(']');
                break;
            case PyDict d:
                sb.Append('{');
                for (int k = 0; k < d.Entries.Count; k++)
                {
                    if (k > 0) sb.Append(", ");
                    Append(sb, d.Entries[k].Key, budget);
                    sb.Append(": ");
                    Append(sb, d.Entries[k].Value, budget);
                    if (sb.Length > budget) return;
                }
                sb.Append('}');
                break;
            default:
                sb.Append(value);
                break;
        }
    }

    private object ParseValue(int depth)
    {
        if (_pos >= _text.Length) throw Error("a value");
        char c = _text[_pos];
        switch (c)
        {
            case '{':
                return ParseDict(depth + 1);
            case '(':
                return ParseParenthesized(depth + 1);
            case '[':
                return new PyList(ParseSequence(']', depth + 1, out _));
            case '\'':
            case '"':
                return ParseString();
            case '+':
            case '-':
                return ParseInteger();
        }
        if (c >= '0' && c <= '9') return ParseInteger();
        if (IsIdentifierStart(c))
        {
            int start = _pos;
            while (_pos < _text.Length && IsIdentifierPart(_text[_pos])) _pos++;
            var name = _text[start.._pos];
            if ((name == "u" || name == "U") && _pos < _text.Length && (_text[_pos] == '\'' || _text[_pos] == '"'))
                return ParseString();
            switch (name)
            {
                case "True": return true;
                case "False": return false;
                case "None": return PyNone.Instance;
            }
            _pos = start;
            throw Error("a value (a string, integer, tuple, list, dict, True, False or None)");
        }
        throw Error("a value (a string, integer, tuple, list, dict, True, False or None)");
    }

    private PyDict ParseDict(int depth)
    {
        CheckDepth(depth);
        _pos++; // '{'
        var entries = new List<KeyValuePair<string, object>>();
        while (true)
        {
            SkipWhitespace();
            if (Peek() == '}') { _pos++; return new PyDict(entries); }
            int keyStart = _pos;
            var key = ParseValue(depth);
            if (key is not string name)
            {
                _pos = keyStart;
                throw Error("a string key");
            }
            SkipWhitespace();
            Expect(':');
            SkipWhitespace();
            var value = ParseValue(depth);
            entries.Add(new KeyValuePair<string, object>(name, value));
            SkipWhitespace();
            if (Peek() == ',') { _pos++; continue; }
            if (Peek() == '}') { _pos++; return new PyDict(entries); }
            throw Error("',' or '}'");
        }
    }

    /// <summary>Either a tuple <c>()</c>, <c>(x,)</c>, <c>(x, y)</c> or a parenthesized value <c>(x)</c>.</summary>
    private object ParseParenthesized(int depth)
    {
        var items = ParseSequence(')', depth, out bool trailingComma);
        if (items.Count == 1 && !trailingComma) return items[0];
        return new PyTuple(items);
    }

    private List<object> ParseSequence(char close, int depth, out bool trailingComma)
    {
        CheckDepth(depth);
        _pos++; // opening bracket
        var items = new List<object>();
        trailingComma = false;
        while (true)
        {
            SkipWhitespace();
            if (Peek() == close) { _pos++; return items; }
            items.Add(ParseValue(depth));
            trailingComma = false;
            SkipWhitespace();
            if (Peek() == ',') { _pos++; trailingComma = true; continue; }
            if (Peek() == close) { _pos++; return items; }
            throw Error($"',' or '{close}'");
        }
    }

    private PyInt ParseInteger()
    {
        bool negative = false;
        if (_text[_pos] == '+' || _text[_pos] == '-')
        {
            negative = _text[_pos] == '-';
            _pos++;
            SkipWhitespace();
        }
        int digitsStart = _pos;
        while (_pos < _text.Length && (char.IsAsciiDigit(_text[_pos]) || _text[_pos] == '_')) _pos++;
        var digits = _text[digitsStart.._pos].Replace("_", "", StringComparison.Ordinal);
        if (digits.Length == 0)
        {
            _pos = digitsStart;
            throw Error("digits");
        }
        // Python 2 wrote long integers with an 'L' suffix; NumPy still reads such headers.
        if (_pos < _text.Length && (_text[_pos] == 'L' || _text[_pos] == 'l')) _pos++;
        if (_pos < _text.Length && (IsIdentifierPart(_text[_pos]) || _text[_pos] == '.'))
            throw Error("an integer (floats, complex numbers and other number forms are not allowed)");

        var text = (negative ? "-" : "") + (digits.Length > MaxIntegerDigits ? digits[..MaxIntegerDigits] + "..." : digits);
        long? value = null;
        if (digits.Length <= MaxIntegerDigits &&
            long.TryParse((negative ? "-" : "") + digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
            value = parsed;
        return new PyInt(value, text);
    }

    private string ParseString()
    {
        char quote = _text[_pos];
        if (_pos + 2 < _text.Length && _text[_pos + 1] == quote && _text[_pos + 2] == quote)
            throw Error("a single-line string (triple-quoted strings are not supported)");
        int start = _pos;
        _pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n' || _text[_pos] == '\r')
            {
                _pos = start;
                throw Error("a terminated string");
            }
            char c = _text[_pos++];
            if (c == quote) return sb.ToString();
            if (c != '\\') { sb.Append(c); continue; }
            if (_pos >= _text.Length) { _pos = start; throw Error("a terminated string"); }
            char e = _text[_pos++];
            switch (e)
            {
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '0': sb.Append('\0'); break;
                case 'x': sb.Append(HexEscape(2)); break;
                case 'u': sb.Append(HexEscape(4)); break;
                default: sb.Append('\\').Append(e); break; // Python keeps unknown escapes as written
            }
        }
    }

    private char HexEscape(int length)
    {
        if (_pos + length > _text.Length ||
            !int.TryParse(_text.AsSpan(_pos, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
            throw Error($"{length} hexadecimal digits in an escape sequence");
        _pos += length;
        return (char)code;
    }

    private void CheckDepth(int depth)
    {
        if (depth > MaxDepth)
            throw new FormatException($"brackets nest deeper than {MaxDepth} levels at character {_pos}");
    }

    private char Peek() => _pos < _text.Length ? _text[_pos] : '\0';

    private void Expect(char c)
    {
        if (Peek() != c) throw Error($"'{c}'");
        _pos++;
    }

    private void SkipWhitespace()
    {
        while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n' or '\r' or '\f' or '\v') _pos++;
    }

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private FormatException Error(string expected)
    {
        string found;
        if (_pos >= _text.Length) found = "the end of the text";
        else
        {
            var excerpt = _text.Substring(_pos, Math.Min(20, _text.Length - _pos));
            found = Repr(excerpt);
        }
        return new FormatException($"expected {expected} at character {_pos}, found {found}");
    }
}
