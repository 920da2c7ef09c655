using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Keras.Rnn.Utils;

/// <summary>
/// Keras' progress bar: <c>32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 10ms/step - loss: 0.1234 - accuracy: 0.9000</c>. On a terminal
/// it redraws one line (throttled); when output is redirected it writes only the final line, without control codes.
/// </summary>
public sealed class Progbar
{
    private readonly TextWriter _out;
    private readonly bool _dynamic;
    private readonly int _width;
    private readonly double _interval;
    private readonly string _unitName;
    private readonly List<string> _order = [];
    private readonly Dictionary<string, double> _values = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastUpdate = double.NegativeInfinity;
    private double? _timeAfterFirstStep;
    private int _previousWidth;

    /// <summary>Creates a progress bar.</summary>
    /// <param name="target">Total number of steps, or <c>null</c> when unknown.</param>
    /// <param name="verbose">1: bar (default); 2: one line at the end; 0: silent.</param>
    /// <param name="width">Bar width in characters (default 20).</param>
    /// <param name="interval">Minimum seconds between redraws (default 0.05).</param>
    /// <param name="unitName">Unit in the per-step time, e.g. <c>step</c> (default).</param>
    /// <param name="output">Where to write (default standard output).</param>
    /// <param name="interactive">Whether to redraw in place (default: when standard output is a terminal).</param>
    public Progbar(int? target, int verbose = 1, int width = 20, double interval = 0.05, string unitName = "step",
        TextWriter? output = null, bool? interactive = null)
    {
        Target = target;
        Verbose = verbose;
        _width = width;
        _interval = interval;
        _unitName = unitName;
        _out = output ?? Console.Out;
        _dynamic = interactive ?? (output is null && !Console.IsOutputRedirected);
    }

    /// <summary>Total number of steps, or <c>null</c>.</summary>
    public int? Target { get; set; }

    /// <summary>Verbosity (0, 1 or 2).</summary>
    public int Verbose { get; }

    /// <summary>Updates the bar to step <paramref name="current"/> with the current metric values.</summary>
    /// <param name="current">Steps done (1-based).</param>
    /// <param name="values">Metric name → current value (shown as given).</param>
    /// <param name="finalize">Whether this is the last update (default: when <paramref name="current"/> reaches the target).</param>
    public void Update(int current, IEnumerable<KeyValuePair<string, double>>? values = null, bool? finalize = null)
    {
        bool final = finalize ?? (Target is { } t && current >= t);
        foreach (var (k, v) in values ?? [])
        {
            if (!_order.Contains(k)) _order.Add(k);
            _values[k] = v;
        }
        double now = _clock.Elapsed.TotalSeconds;
        double timePerUnit = EstimateStepDuration(current, now);
        if (Verbose == 1)
        {
            if (!final && (!_dynamic || now - _lastUpdate < _interval)) return;
            var message = new StringBuilder();
            string bar;
            int special = 0;
            if (Target is { } target && target > 0)
            {
                int digits = (int)Math.Floor(Math.Log10(target)) + 1;
                var count = $"{current.ToString(CultureInfo.InvariantCulture).PadLeft(digits)}/{target}";
                int progWidth = (int)(_width * Math.Min(1.0, (double)current / target));
                if (_dynamic)
                {
                    bar = $"\x1b[1m{count}\x1b[0m ";
                    special += 8;
                    if (progWidth > 0) { bar += $"\x1b[32m{new string('━', progWidth)}\x1b[0m"; special += 9; }
                    bar += $"\x1b[37m{new string('━', _width - progWidth)}\x1b[0m";
                    special += 9;
                }
                else
                {
                    bar = $"{count} {new string('━', _width)}";
                }
            }
            else
            {
                bar = $"{current,7}/Unknown";
            }
            string info;
            if (Target is > 0 && !final)
            {
                double eta = timePerUnit * (Target.Value - current);
                string etaText = eta > 3600 ? $"{(int)(eta / 3600)}:{(int)(eta % 3600 / 60):00}:{(int)(eta % 60):00}"
                    : eta > 60 ? $"{(int)(eta / 60)}:{(int)(eta % 60):00}" : $"{(int)eta}s";
                info = _dynamic ? $" \x1b[1m{etaText}\x1b[0m" : " " + etaText;
            }
            else
            {
                var elapsed = $"{Math.Round(now, MidpointRounding.ToEven):0}s";
                info = _dynamic ? $" \x1b[1m{elapsed}\x1b[0m" : " " + elapsed;
            }
            if (_dynamic) special += 8;
            info += FormatTime(timePerUnit, _unitName);
            info += FormatValues();
            if (_dynamic)
            {
                message.Append('\b', _previousWidth).Append('\r');
                message.Append(bar).Append(info);
                int total = bar.Length + info.Length - special;
                if (_previousWidth > total) message.Append(' ', _previousWidth - total);
                _previousWidth = total;
            }
            else
            {
                message.Append(bar).Append(info);
            }
            if (final) message.Append('\n');
            _out.Write(message.ToString());
            _out.Flush();
        }
        else if (Verbose == 2 && final && Target is > 0)
        {
            int digits = (int)Math.Floor(Math.Log10(Target.Value)) + 1;
            var line = $"{current.ToString(CultureInfo.InvariantCulture).PadLeft(digits)}/{Target} - {Math.Round(now, MidpointRounding.ToEven):0}s -{FormatTime(timePerUnit, _unitName)}{FormatValues()}\n";
            _out.Write(line);
            _out.Flush();
        }
        _lastUpdate = now;
    }

    private string FormatValues()
    {
        var sb = new StringBuilder();
        foreach (var k in _order)
        {
            double v = _values[k];
            sb.Append(" - ").Append(k).Append(": ").Append(FormatValue(v));
        }
        return sb.ToString();
    }

    /// <summary>Keras' number format: 4 decimals, or scientific notation for magnitudes at most 1e-3.</summary>
    internal static string FormatValue(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        if (Math.Abs(v) > 1e-3) return v.ToString("F4", CultureInfo.InvariantCulture);
        var s = v.ToString("0.0000e+00", CultureInfo.InvariantCulture);
        return s;
    }

    /// <summary>Keras' per-unit time: <c> 12ms/step</c>, <c> 2s/step</c>, <c> 450us/step</c>.</summary>
    internal static string FormatTime(double timePerUnit, string unit)
    {
        if (timePerUnit >= 1 || timePerUnit == 0) return $" {Math.Round(timePerUnit, MidpointRounding.ToEven):0}s/{unit}";
        if (timePerUnit >= 1e-3) return $" {Math.Round(timePerUnit * 1000, MidpointRounding.ToEven):0}ms/{unit}";
        return $" {Math.Round(timePerUnit * 1e6, MidpointRounding.ToEven):0}us/{unit}";
    }

    private double EstimateStepDuration(int current, double now)
    {
        if (current <= 0) return 0;
        double perUnit = _timeAfterFirstStep is { } first && current > 1 ? (now - first) / (current - 1) : now / current;
        if (current == 1) _timeAfterFirstStep = now;
        return perUnit;
    }
}
