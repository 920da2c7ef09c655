using System.Globalization;
using Keras.Rnn.Layers;

namespace Keras.Rnn.Saving;

/// <summary>
/// What one deserialization (a <c>FromJson</c> call, a <c>.keras</c> archive, a legacy <c>.h5</c> file) knows about
/// its source: where the config came from (for messages), which Keras version wrote it (Keras 1 and 2 configs differ
/// from Keras 3's: <c>hard_sigmoid</c>, argument names, node formats), the custom layer factories, the objects shared
/// by <c>shared_object_id</c>, and a budget of weight elements so that a hostile config cannot make us allocate
/// without bound.
/// </summary>
internal sealed class KerasLoadContext
{
    /// <summary>Default largest number of weight elements a config may create (2^30 ≈ 4 GiB of float32).</summary>
    internal const long DefaultParameterBudget = 1L << 30;

    [ThreadStatic] private static KerasLoadContext? _current;

    /// <summary>Creates the context.</summary>
    /// <param name="source">The file path, or a description such as <c>the JSON string</c>.</param>
    /// <param name="isFile">Whether <paramref name="source"/> is a file (errors are then <see cref="KerasFileException"/>).</param>
    /// <param name="kerasVersion">The producing Keras version (<c>keras_version</c>), or <c>null</c> when unknown (Keras 3 is assumed).</param>
    /// <param name="customObjects">Layer factories by class or registered name, or <c>null</c>.</param>
    /// <param name="parameterBudget">Largest number of weight elements the config may create.</param>
    /// <param name="entry">The part of the file holding the config (e.g. <c>config.json</c>), or <c>null</c>.</param>
    public KerasLoadContext(string source, bool isFile, string? kerasVersion,
        IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? customObjects,
        long parameterBudget = DefaultParameterBudget, string? entry = null)
    {
        Source = source;
        IsFile = isFile;
        KerasVersion = kerasVersion;
        KerasMajor = ParseMajor(kerasVersion);
        CustomObjects = customObjects;
        ParameterBudget = parameterBudget;
        Entry = entry;
    }

    /// <summary>The file path or source description.</summary>
    public string Source { get; }

    /// <summary>Whether the source is a file.</summary>
    public bool IsFile { get; }

    /// <summary>The part of the file holding the config, or <c>null</c>.</summary>
    public string? Entry { get; set; }

    /// <summary>The producing Keras version as written, or <c>null</c>.</summary>
    public string? KerasVersion { get; }

    /// <summary>The producing Keras major version: 1, 2 or 3 (3 when unknown).</summary>
    public int KerasMajor { get; }

    /// <summary>Whether the compile config's optimizer was a Keras <c>LossScaleOptimizer</c> (the model then trains with dynamic loss scaling).</summary>
    public bool LossScaleOptimizer { get; set; }

    /// <summary>Whether the config comes from Keras 1 or 2 (standalone or tf.keras).</summary>
    public bool IsLegacy => KerasMajor < 3;

    /// <summary>Layer factories passed for this call, or <c>null</c>.</summary>
    public IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? CustomObjects { get; }

    /// <summary>Largest number of weight elements this config may create.</summary>
    public long ParameterBudget { get; }

    /// <summary>Weight elements created so far.</summary>
    public long ParametersUsed { get; private set; }

    /// <summary>A sentence appended to error messages while it is set (e.g. how to skip the compile config).</summary>
    public string? Hint { get; set; }

    /// <summary>Objects already built for a <c>shared_object_id</c>.</summary>
    public Dictionary<long, object> SharedObjects { get; } = [];

    /// <summary>The context of the deserialization running on this thread, for helpers called from custom factories.</summary>
    public static KerasLoadContext? Current => _current;

    /// <summary>Makes this context current on this thread until the returned scope is disposed.</summary>
    public IDisposable Enter()
    {
        var previous = _current;
        _current = this;
        return new Scope(() => _current = previous);
    }

    private sealed class Scope(Action exit) : IDisposable
    {
        private Action? _exit = exit;

        public void Dispose()
        {
            _exit?.Invoke();
            _exit = null;
        }
    }

    private static int ParseMajor(string? version)
    {
        if (string.IsNullOrWhiteSpace(version)) return 3;
        var digits = new string(version.Trim().TakeWhile(char.IsDigit).ToArray());
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var major) && major > 0 ? major : 3;
    }

    /// <summary>Counts <paramref name="elements"/> weight elements against the budget before they are allocated.</summary>
    /// <param name="elements">Elements about to be created.</param>
    /// <param name="what">The layer, for the message.</param>
    /// <param name="location">Where in the config.</param>
    public void ChargeParameters(double elements, string what, string location)
    {
        if (elements <= 0) return;
        if (elements > ParameterBudget - ParametersUsed)
            throw Error(location,
                $"{what} would create {elements:0} weight values, which exceeds what this {(IsFile ? "file" : "config")} may allocate " +
                $"({ParameterBudget} values in all, {ParametersUsed} already used). The config is corrupted or was not written for this model.");
        ParametersUsed += (long)elements;
    }

    /// <summary>The exception for a config problem at <paramref name="location"/> (a JSON path such as <c>$.config.layers[2]</c>).</summary>
    public Exception Error(string location, string message, Exception? inner = null)
    {
        var where = string.IsNullOrEmpty(location) ? "" : $" at {location}";
        if (Hint is not null) message = $"{message} {Hint}";
        if (IsFile)
        {
            var entry = Entry is null ? "" : $" ({Entry})";
            return new KerasFileException(Source, $"Cannot load the model from '{Source}'{entry}{where}: {message}", inner);
        }
        return new KerasConfigArgumentException($"Cannot build the model from {Source}{where}: {message}", inner);
    }
}

/// <summary>A config error outside a file (e.g. <c>Model.FromJson</c>): an <see cref="ArgumentException"/> that
/// deserialization code passes on unchanged instead of wrapping it again.</summary>
internal sealed class KerasConfigArgumentException(string message, Exception? inner) : ArgumentException(message, inner);
