using Keras.Rnn.Backend;
using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// A loss function (Keras' <c>keras.losses.Loss</c>). <see cref="Call"/> gives the unreduced values (one per sample,
/// or per sample and time step); <see cref="Compute"/> applies the mask, the sample weights and the reduction exactly
/// as Keras' <c>Loss.__call__</c> does and is differentiable. Accepts Keras' string identifiers wherever a loss is
/// expected: <c>"mse"</c>, <c>"binary_crossentropy"</c>, <c>"SparseCategoricalCrossentropy"</c>, ...
/// </summary>
/// <remarks>
/// <para>Reductions: <c>"sum_over_batch_size"</c> (default) and <c>"mean"</c> divide the weighted sum by the number
/// of values; <c>"sum"</c> does not divide; <c>"mean_with_sample_weight"</c> divides by the sum of the (merged)
/// sample weights; <c>"none"</c> returns the weighted values.</para>
/// <para>Masks: with <c>"sum_over_batch_size"</c>/<c>"mean"</c> each kept entry of a <c>(batch, time)</c> mask is
/// weighted <c>total / kept</c>, so the result is the average over the kept steps only (0 when none is kept); with the
/// other reductions the mask is a plain 0/1 weight. A per-sample weight of shape <c>(batch,)</c> applies to every
/// time step of its sample.</para>
/// </remarks>
/// <example>
/// <code>
/// Loss loss = "sparse_categorical_crossentropy";
/// var value = loss.Compute(labels, probabilities);            // scalar tensor, differentiable
/// var perStep = new MeanSquaredError(reduction: "none").Compute(yTrue, yPred, mask: stepMask);
/// </code>
/// </example>
public abstract class Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="name">The loss' name.</param>
    /// <param name="reduction">One of <c>"sum_over_batch_size"</c> (default), <c>"sum"</c>, <c>"mean"</c>,
    /// <c>"mean_with_sample_weight"</c>, <c>"none"</c>.</param>
    /// <exception cref="ArgumentException">Unknown reduction, or an empty name.</exception>
    protected Loss(string name, string reduction = "sum_over_batch_size")
    {
        NativeLibraries.EnsureLoaded();
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A loss needs a non-empty name.", nameof(name));
        Name = name;
        Reduction = LossUtils.StandardizeReduction(reduction, nameof(reduction));
    }

    /// <summary>The loss' name (Keras' <c>name</c>).</summary>
    public string Name { get; }

    /// <summary>The reduction applied by <see cref="Compute"/>.</summary>
    public string Reduction { get; }

    /// <summary>Keras' class name (e.g. <c>MeanSquaredError</c>), used in configs.</summary>
    public virtual string ClassName => GetType().Name;

    /// <summary>Describes this loss in error messages.</summary>
    internal string Owner => $"{ClassName} '{Name}'";

    /// <summary>
    /// The unreduced loss values (Keras' <c>call</c>), typically the mean over the last axis: shape <c>(batch,)</c>
    /// for <c>(batch, features)</c> inputs and <c>(batch, time)</c> for sequences.
    /// </summary>
    /// <param name="yTrue">Targets (any numeric dtype; cast to float32).</param>
    /// <param name="yPred">Predictions.</param>
    /// <exception cref="ArgumentException">Incompatible shapes; the message names the loss and both shapes.</exception>
    public abstract Tensor Call(Tensor yTrue, Tensor yPred);

    /// <summary>
    /// The default reduction (<c>sum_over_batch_size</c>, no weights, no mask) of the loss in one fused libtorch
    /// operation, or <c>null</c> where the loss has none or the shapes need Keras' general path. It equals the general
    /// path up to float32 rounding and issues one operation instead of several (which counts on a GPU, where a
    /// training step's time is mostly the host issuing operations).
    /// </summary>
    /// <param name="yTrue">Targets (float32, on the predictions' device).</param>
    /// <param name="yPred">Predictions (float32).</param>
    private protected virtual Tensor? FusedMean(Tensor yTrue, Tensor yPred) => null;

    /// <summary>The unreduced values and a mask the loss itself produces (e.g. ignored classes), if any.</summary>
    internal virtual (Tensor Values, Tensor? Mask) CallWithMask(Tensor yTrue, Tensor yPred) => (Call(yTrue, yPred), null);

    /// <summary>
    /// The loss as Keras' <c>Loss.__call__</c> computes it: <see cref="Call"/>, then the mask and the sample weights
    /// merged into one weight, then the reduction. Differentiable with respect to <paramref name="yPred"/>.
    /// </summary>
    /// <param name="yTrue">Targets.</param>
    /// <param name="yPred">Predictions (float32; other float types are cast, as Keras computes losses in float32).</param>
    /// <param name="sampleWeight">Optional weights: a scalar, per sample <c>(batch,)</c>, or per step
    /// <c>(batch, time)</c> (default <c>null</c>).</param>
    /// <param name="mask">Optional boolean mask over y_pred's leading dimensions, e.g. <c>(batch, time)</c> for a
    /// sequence output (default <c>null</c>).</param>
    /// <returns>A float32 scalar, or the weighted values for the <c>"none"</c> reduction.</returns>
    /// <exception cref="ArgumentException">Shapes of the targets, predictions, weights or mask do not fit.</exception>
    public Tensor Compute(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        using var scope = torch.NewDisposeScope();
        var pred = LossUtils.ToFloat(yPred);
        var truth = LossUtils.ToFloat(yTrue, pred.device);
        if (sampleWeight is null && mask is null && Reduction == "sum_over_batch_size" && FusedMean(truth, pred) is { } fused)
            return fused.MoveToOuterDisposeScope();
        var inMask = mask is null ? null : LossUtils.PrepareMask(mask, pred, Owner);
        var (values, outMask) = CallWithMask(truth, pred);
        Tensor? combined = (inMask, outMask) switch
        {
            (null, null) => null,
            ({ } a, null) => a,
            (null, { } b) => b,
            ({ } a, { } b) => a.logical_and(b),
        };
        var sw = sampleWeight is null ? null : LossUtils.ToFloat(sampleWeight, pred.device);
        return LossUtils.ReduceWeightedValues(values, sw, combined, Reduction, Owner).MoveToOuterDisposeScope();
    }

    /// <summary>Keras' config: <c>name</c>, <c>reduction</c> and the loss' own arguments in snake_case.</summary>
    public virtual IReadOnlyDictionary<string, object?> GetConfig() =>
        new Dictionary<string, object?> { ["name"] = Name, ["reduction"] = Reduction };

    /// <inheritdoc />
    public override string ToString() => $"<{ClassName} name={Name}>";

    private static readonly string KnownIdentifiers =
        "mean_squared_error (mse), mean_absolute_error (mae), mean_absolute_percentage_error (mape), " +
        "mean_squared_logarithmic_error (msle), huber, log_cosh, cosine_similarity, binary_crossentropy (bce), " +
        "categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence (kld), poisson, hinge, squared_hinge, " +
        "categorical_hinge, crossentropy (ce; chosen from the shapes at the first call), and the class names " +
        "(MeanSquaredError, Huber, BinaryCrossentropy, ...)";

    /// <summary>
    /// Resolves a Keras loss identifier. A Keras function name or alias (<c>"mse"</c>, <c>"huber"</c>) gives the loss
    /// named after the identifier, as Keras' <c>compile</c> does; a class name (<c>"MeanSquaredError"</c>,
    /// <c>"Huber"</c>) gives the class with its default name. <c>"crossentropy"</c>/<c>"ce"</c> pick the binary,
    /// sparse or categorical cross-entropy from the shapes at the first call, as Keras' <c>compile</c> does.
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <exception cref="ArgumentException">Unknown identifier; the message lists the known ones.</exception>
    public static Loss Get(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        var id = identifier.Trim();
        if (id.ToLowerInvariant() is "crossentropy" or "ce") return new UnresolvedLoss(id);
        // Keras' class names give an instance with its default name; function names and aliases are named after the id.
        bool isClassName = id.Length > 0 && char.IsUpper(id[0]) && id.Any(char.IsLower) && !id.Contains('_');
        string? n = isClassName ? null : id;
        return Naming.NormalizeIdentifier(id) switch
        {
            "mean_squared_error" or "mse" => n is null ? new MeanSquaredError() : new MeanSquaredError(name: n),
            "mean_absolute_error" or "mae" => n is null ? new MeanAbsoluteError() : new MeanAbsoluteError(name: n),
            "mean_absolute_percentage_error" or "mape" => n is null ? new MeanAbsolutePercentageError() : new MeanAbsolutePercentageError(name: n),
            "mean_squared_logarithmic_error" or "msle" => n is null ? new MeanSquaredLogarithmicError() : new MeanSquaredLogarithmicError(name: n),
            "huber" => n is null ? new Huber() : new Huber(name: n),
            "log_cosh" => n is null ? new LogCosh() : new LogCosh(name: n),
            "cosine_similarity" => n is null ? new CosineSimilarity() : new CosineSimilarity(name: n),
            "binary_crossentropy" or "bce" => n is null ? new BinaryCrossentropy() : new BinaryCrossentropy(name: n),
            "categorical_crossentropy" => n is null ? new CategoricalCrossentropy() : new CategoricalCrossentropy(name: n),
            "sparse_categorical_crossentropy" => n is null ? new SparseCategoricalCrossentropy() : new SparseCategoricalCrossentropy(name: n),
            "kl_divergence" or "kld" => n is null ? new KLDivergence() : new KLDivergence(name: n),
            "poisson" => n is null ? new Poisson() : new Poisson(name: n),
            "hinge" => n is null ? new Hinge() : new Hinge(name: n),
            "squared_hinge" => n is null ? new SquaredHinge() : new SquaredHinge(name: n),
            "categorical_hinge" => n is null ? new CategoricalHinge() : new CategoricalHinge(name: n),
            _ => throw new ArgumentException($"Unknown loss identifier '{identifier}'. Known: {KnownIdentifiers}.", nameof(identifier)),
        };
    }

    /// <summary>Converts a Keras identifier to a loss (see <see cref="Get"/>).</summary>
    /// <param name="identifier">The identifier.</param>
    public static implicit operator Loss(string identifier) => Get(identifier);

    /// <summary>
    /// Returns <paramref name="loss"/> unchanged unless it is the <c>"crossentropy"</c>/<c>"ce"</c> placeholder, which
    /// becomes, as in Keras' <c>compile_utils.get_loss</c>: binary cross-entropy when y_pred's last dimension is 1,
    /// sparse categorical when y_true has fewer dimensions than y_pred or a last dimension of 1 while y_pred's is
    /// larger, categorical otherwise. The resolved loss keeps the identifier as its name.
    /// </summary>
    /// <param name="loss">The loss.</param>
    /// <param name="yTrueShape">Shape of the targets.</param>
    /// <param name="yPredShape">Shape of the predictions.</param>
    internal static Loss Resolve(Loss loss, long[] yTrueShape, long[] yPredShape) =>
        loss is UnresolvedLoss u ? u.ResolveFor(yTrueShape, yPredShape) : loss;

    /// <summary>Keras' <c>is_binary_or_sparse_categorical</c> (<c>trainers/compile_utils.py</c>).</summary>
    internal static (bool IsBinary, bool IsSparseCategorical) ClassifyShapes(long[] yTrueShape, long[] yPredShape)
    {
        long tLast = yTrueShape.Length > 0 ? yTrueShape[^1] : 1;
        long pLast = yPredShape.Length > 0 ? yPredShape[^1] : 1;
        bool isBinary = pLast == 1;
        bool isSparse = yTrueShape.Length < yPredShape.Length || (tLast == 1 && pLast > 1);
        return (isBinary, isSparse);
    }
}
