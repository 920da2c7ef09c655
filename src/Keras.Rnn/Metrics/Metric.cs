using Keras.Rnn.Backend;
using Keras.Rnn.Losses;
using Keras.Rnn.Utils;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// A streaming metric (Keras' <c>keras.metrics.Metric</c>): <see cref="UpdateState"/> accumulates batches,
/// <see cref="Result"/> reads the value, <see cref="ResetState"/> starts over. Accepts Keras' string identifiers
/// wherever a metric is expected: <c>"accuracy"</c>, <c>"mae"</c>, <c>"auc"</c>, <c>"sparse_top_k_categorical_accuracy"</c>, ...
/// </summary>
/// <remarks>
/// Accumulators live on the device of the data, never record autograd history and are updated without a host
/// synchronisation; <see cref="Result"/> copies them to the host.
/// </remarks>
/// <example>
/// <code>
/// var acc = new SparseCategoricalAccuracy();
/// foreach (var (x, y) in batches) acc.UpdateState(y, model.Apply(x));
/// Console.WriteLine(acc.Result());
/// </code>
/// </example>
public abstract class Metric
{
    /// <summary>Creates the metric.</summary>
    /// <param name="name">The metric's name (the key in training logs).</param>
    /// <exception cref="ArgumentException">Empty name.</exception>
    protected Metric(string name)
    {
        NativeLibraries.EnsureLoaded();
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A metric needs a non-empty name.", nameof(name));
        Name = name;
    }

    /// <summary>The metric's name (the key in training logs). Keras' <c>compile</c> renames a metric given as a string
    /// to that string.</summary>
    public string Name { get; internal set; }

    /// <summary>Keras' class name (e.g. <c>SparseCategoricalAccuracy</c>), used in configs.</summary>
    public virtual string ClassName => GetType().Name;

    /// <summary>Describes this metric in error messages.</summary>
    internal string Owner => $"{ClassName} '{Name}'";

    /// <summary>Accumulates one batch.</summary>
    /// <param name="yTrue">Targets.</param>
    /// <param name="yPred">Predictions (may carry autograd history; it is not recorded).</param>
    /// <param name="sampleWeight">Optional weights: a scalar, per sample, or per step (default <c>null</c>).</param>
    /// <param name="mask">Optional boolean mask over y_pred's leading dimensions, e.g. <c>(batch, time)</c>: Keras'
    /// mask of the model output. Metrics built on <see cref="MeanMetricWrapper"/> merge it into the sample weights
    /// as Keras does; see each metric for the others (default <c>null</c>).</param>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names the metric and the shapes.</exception>
    public abstract void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null);

    /// <summary>The metric's current value (synchronises with the device).</summary>
    public abstract double Result();

    /// <summary>Clears the accumulated state.</summary>
    public abstract void ResetState();

    /// <summary>Keras' config: <c>name</c>, <c>dtype</c> and the metric's own arguments in snake_case.</summary>
    public virtual IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["name"] = Name, ["dtype"] = "float32" };

    /// <inheritdoc />
    public override string ToString() => $"<{ClassName} name={Name}>";

    private const string KnownIdentifiers =
        "accuracy/acc (binary, sparse or categorical accuracy chosen from the shapes), crossentropy/ce (likewise), " +
        "binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy, " +
        "sparse_top_k_categorical_accuracy, auc, precision, recall, mean_squared_error (mse), root_mean_squared_error, " +
        "mean_absolute_error (mae), mean_absolute_percentage_error (mape), mean_squared_logarithmic_error (msle), " +
        "cosine_similarity, log_cosh_error, binary_crossentropy (bce), categorical_crossentropy, " +
        "sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge, categorical_hinge, mean, sum, " +
        "and the class names (BinaryAccuracy, AUC, ...)";

    /// <summary>
    /// Resolves a Keras metric identifier the way Keras' <c>compile</c> does (<c>compile_utils.get_metric</c>): the
    /// metric is named after the identifier (<c>"mae"</c> logs as <c>mae</c>). <c>"accuracy"</c>/<c>"acc"</c> (any
    /// case) and <c>"crossentropy"</c>/<c>"ce"</c> give a placeholder that becomes the binary, sparse categorical or
    /// categorical variant once the shapes are known (see <see cref="Resolve"/>); for Keras' exact-match
    /// <c>Accuracy</c> class use <c>new Accuracy()</c>.
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <exception cref="ArgumentException">Unknown identifier; the message lists the known ones.</exception>
    public static Metric Get(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        var id = identifier.Trim();
        var lower = id.ToLowerInvariant();
        if (lower is "accuracy" or "acc" or "crossentropy" or "ce") return new UnresolvedMetric(id);
        Metric m = Naming.NormalizeIdentifier(id) switch
        {
            "binary_accuracy" => new BinaryAccuracy(),
            "categorical_accuracy" => new CategoricalAccuracy(),
            "sparse_categorical_accuracy" => new SparseCategoricalAccuracy(),
            "top_k_categorical_accuracy" => new TopKCategoricalAccuracy(),
            "sparse_top_k_categorical_accuracy" => new SparseTopKCategoricalAccuracy(),
            "auc" => new AUC(),
            "precision" => new Precision(),
            "recall" => new Recall(),
            "mean_squared_error" or "mse" => new MeanSquaredError(),
            "root_mean_squared_error" => new RootMeanSquaredError(),
            "mean_absolute_error" or "mae" => new MeanAbsoluteError(),
            "mean_absolute_percentage_error" or "mape" => new MeanAbsolutePercentageError(),
            "mean_squared_logarithmic_error" or "msle" => new MeanSquaredLogarithmicError(),
            "cosine_similarity" => new CosineSimilarity(),
            "log_cosh_error" => new LogCoshError(),
            "binary_crossentropy" or "bce" => new BinaryCrossentropy(),
            "categorical_crossentropy" => new CategoricalCrossentropy(),
            "sparse_categorical_crossentropy" => new SparseCategoricalCrossentropy(),
            "kl_divergence" => new KLDivergence(),
            "poisson" => new Poisson(),
            "hinge" => new Hinge(),
            "squared_hinge" => new SquaredHinge(),
            "categorical_hinge" => new CategoricalHinge(),
            "mean" => new Mean(),
            "sum" => new Sum(),
            _ => throw new ArgumentException($"Unknown metric identifier '{identifier}'. Known: {KnownIdentifiers}.", nameof(identifier)),
        };
        m.Name = id;
        return m;
    }

    /// <summary>Converts a Keras identifier to a metric (see <see cref="Get"/>).</summary>
    /// <param name="identifier">The identifier.</param>
    public static implicit operator Metric(string identifier) => Get(identifier);

    /// <summary>
    /// Returns <paramref name="metric"/> unchanged unless it is the <c>"accuracy"</c>/<c>"acc"</c>/<c>"crossentropy"</c>/
    /// <c>"ce"</c> placeholder, which becomes (Keras' <c>compile_utils.get_metric</c>): the binary variant when y_pred's
    /// last dimension is 1; the sparse categorical variant when y_true has fewer dimensions than y_pred, or a last
    /// dimension of 1 while y_pred's is larger; the categorical variant otherwise. The result keeps the identifier as
    /// its name. A cross-entropy placeholder takes <c>from_logits</c> from <paramref name="loss"/> when that is a
    /// cross-entropy loss (accuracy ignores the loss, as in Keras).
    /// </summary>
    /// <param name="metric">The metric.</param>
    /// <param name="yTrueShape">Shape of the targets.</param>
    /// <param name="yPredShape">Shape of the predictions.</param>
    /// <param name="loss">The compiled loss of that output, if any.</param>
    internal static Metric Resolve(Metric metric, long[] yTrueShape, long[] yPredShape, Loss? loss) =>
        metric is UnresolvedMetric u ? u.ResolveFor(yTrueShape, yPredShape, loss) : metric;
}
