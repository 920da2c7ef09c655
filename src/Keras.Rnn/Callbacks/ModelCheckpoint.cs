using System.Globalization;
using System.Text.RegularExpressions;

namespace Keras.Rnn.Callbacks;

/// <summary>
/// Saves the model or its weights during training (Keras' <c>ModelCheckpoint</c>): every epoch, every N batches, or
/// only when the monitored quantity improves. The path may contain Keras placeholders such as <c>{epoch:02d}</c> and
/// <c>{val_loss:.2f}</c>. Weights-only checkpoints are Keras 3 <c>.weights.h5</c> files; full checkpoints <c>.keras</c>
/// archives. Writes are atomic: a failed save leaves the previous file intact.
/// </summary>
/// <example>
/// <code>
/// var checkpoint = new ModelCheckpoint("best.weights.h5", monitor: "val_loss", saveBestOnly: true, saveWeightsOnly: true);
/// model.Fit(x, y, epochs: 20, validationSplit: 0.1, callbacks: [checkpoint]);
/// model.LoadWeights("best.weights.h5");
/// </code>
/// </example>
public sealed partial class ModelCheckpoint : MonitorCallback
{
    private int _batchesSinceSave;
    private int _currentEpoch;

    /// <summary>Creates the callback.</summary>
    /// <param name="filepath">Where to save; must end in <c>.weights.h5</c> with <paramref name="saveWeightsOnly"/>, else in <c>.keras</c>.</param>
    /// <param name="monitor">Quantity to watch for <paramref name="saveBestOnly"/> (default <c>"val_loss"</c>).</param>
    /// <param name="verbose">1 prints a line per save (default 0).</param>
    /// <param name="saveBestOnly">Save only when the monitored quantity improves (default <c>false</c>).</param>
    /// <param name="saveWeightsOnly">Save only the weights (default <c>false</c>: the whole model).</param>
    /// <param name="mode"><c>"auto"</c> (default), <c>"min"</c> or <c>"max"</c>.</param>
    /// <param name="saveFreq">Save at every epoch end (<c>null</c>, Keras' <c>"epoch"</c>, default) or every this many batches.</param>
    /// <param name="initialValueThreshold">A value the quantity must beat before the first save (default none).</param>
    /// <exception cref="ArgumentException">The path's extension does not match <paramref name="saveWeightsOnly"/>, or <paramref name="saveFreq"/> is not positive.</exception>
    public ModelCheckpoint(string filepath, string monitor = "val_loss", int verbose = 0, bool saveBestOnly = false, bool saveWeightsOnly = false,
        string mode = "auto", int? saveFreq = null, double? initialValueThreshold = null)
        : base(monitor, mode, initialValueThreshold, 0)
    {
        Filepath = filepath ?? throw new ArgumentNullException(nameof(filepath));
        if (saveWeightsOnly && !filepath.EndsWith(".weights.h5", StringComparison.Ordinal))
            throw new ArgumentException($"When using saveWeightsOnly=true in ModelCheckpoint, the filepath provided must end in `.weights.h5` (Keras weights format). Received: filepath={filepath}", nameof(filepath));
        if (!saveWeightsOnly && !filepath.EndsWith(".keras", StringComparison.Ordinal))
            throw new ArgumentException($"The filepath provided must end in `.keras` (Keras model format). Received: filepath={filepath}", nameof(filepath));
        if (saveFreq is <= 0) throw new ArgumentException($"saveFreq must be positive, got {saveFreq}.", nameof(saveFreq));
        Verbose = verbose;
        SaveBestOnly = saveBestOnly;
        SaveWeightsOnly = saveWeightsOnly;
        SaveFreq = saveFreq;
    }

    /// <summary>The path template.</summary>
    public string Filepath { get; }
    /// <summary>Verbosity.</summary>
    public int Verbose { get; }
    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }
    /// <summary>Whether only weights are saved.</summary>
    public bool SaveWeightsOnly { get; }
    /// <summary>Batches between saves, or <c>null</c> for every epoch.</summary>
    public int? SaveFreq { get; }
    /// <summary>The paths written so far, in order.</summary>
    public List<string> SavedPaths { get; } = [];

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IDictionary<string, double> logs) => _currentEpoch = epoch;

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IDictionary<string, double> logs)
    {
        if (SaveFreq is not { } freq) return;
        if (++_batchesSinceSave < freq) return;
        _batchesSinceSave = 0;
        Save(_currentEpoch, batch, logs);
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        if (SaveFreq is null) Save(epoch, null, logs);
    }

    private void Save(int epoch, int? batch, IDictionary<string, double> logs)
    {
        var path = FormatPath(Filepath, epoch, batch, logs);
        if (SaveBestOnly)
        {
            var current = GetMonitorValue(logs);
            if (current is null) return;
            if (!IsImprovement(current.Value, Best))
            {
                if (Verbose > 0)
                    Console.WriteLine($"\nEpoch {epoch + 1}: {Monitor} did not improve from {Format5(Best)}");
                return;
            }
            if (Verbose > 0)
                Console.WriteLine($"\nEpoch {epoch + 1}: {Monitor} improved from {Format5(Best)} to {current.Value.ToString("F5", CultureInfo.InvariantCulture)}, saving model to {path}");
            Best = current;
        }
        else if (Verbose > 0)
        {
            Console.WriteLine($"\nEpoch {epoch + 1}: saving model to {path}");
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        if (SaveWeightsOnly) Model!.SaveWeights(path);
        else Model!.Save(path);
        SavedPaths.Add(path);
    }

    private static string Format5(double? v) => v is null ? "inf" : v.Value.ToString("F5", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(:(?<spec>[^}]*))?\}")]
    private static partial Regex Placeholder();

    /// <summary>Fills Keras/Python placeholders: <c>{epoch}</c> (1-based), <c>{batch}</c>, and any logged metric, with Python format specs like <c>02d</c>, <c>.2f</c>, <c>.4e</c>.</summary>
    internal static string FormatPath(string template, int epoch, int? batch, IDictionary<string, double> logs) =>
        Placeholder().Replace(template, m =>
        {
            var name = m.Groups["name"].Value;
            double? value = name switch
            {
                "epoch" => epoch + 1,
                "batch" => batch is { } b ? b + 1 : null,
                _ => logs.TryGetValue(name, out var v) ? v : null,
            };
            if (value is null)
                throw new KeyError($"ModelCheckpoint: the filepath '{template}' uses {{{name}}}, which is not in the logs ({string.Join(", ", logs.Keys)}).");
            return FormatPython(value.Value, m.Groups["spec"].Success ? m.Groups["spec"].Value : "", name is "epoch" or "batch");
        });

    private static string FormatPython(double value, string spec, bool integer)
    {
        var inv = CultureInfo.InvariantCulture;
        if (spec.Length == 0) return integer ? ((long)value).ToString(inv) : value.ToString("R", inv);
        char type = spec[^1];
        var body = spec[..^1];
        int width = 0, precision = 6;
        bool zeroPad = body.StartsWith('0');
        var dot = body.IndexOf('.');
        var widthPart = dot >= 0 ? body[..dot] : body;
        if (widthPart.Length > 0) width = int.Parse(widthPart, inv);
        if (dot >= 0) precision = int.Parse(body[(dot + 1)..], inv);
        string text = type switch
        {
            'd' => ((long)Math.Round(value)).ToString(inv),
            'f' => value.ToString("F" + precision, inv),
            'e' => value.ToString(precision == 0 ? "0e+00" : "0." + new string('0', precision) + "e+00", inv),
            _ => value.ToString("R", inv),
        };
        return zeroPad ? text.PadLeft(width, '0') : text.PadLeft(width);
    }

    /// <summary>A placeholder names a value that is not logged.</summary>
    private sealed class KeyError(string message) : ArgumentException(message);
}
