using Keras.Rnn.Losses;
using static TorchSharp.torch;

namespace Keras.Rnn.Metrics;

/// <summary>
/// <c>"accuracy"</c>/<c>"acc"</c> or <c>"crossentropy"</c>/<c>"ce"</c> before the shapes are known.
/// <see cref="Metric.Resolve"/> turns it into the binary, sparse categorical or categorical metric; used directly it
/// resolves itself at its first update (from the shapes only).
/// </summary>
internal sealed class UnresolvedMetric : Metric
{
    private Metric? _resolved;

    public UnresolvedMetric(string identifier) : base(identifier)
    {
        Identifier = identifier;
        var lower = identifier.ToLowerInvariant();
        IsCrossentropy = lower is "crossentropy" or "ce";
    }

    /// <summary>The identifier as the user wrote it (also the resolved metric's name).</summary>
    public string Identifier { get; }

    /// <summary>Whether this stands for a cross-entropy rather than an accuracy.</summary>
    public bool IsCrossentropy { get; }

    public override string ClassName => _resolved?.ClassName ?? (IsCrossentropy ? "MeanMetricWrapper" : "Accuracy");

    public Metric ResolveFor(long[] yTrueShape, long[] yPredShape, Loss? loss)
    {
        var (isBinary, isSparse) = Loss.ClassifyShapes(yTrueShape, yPredShape);
        Metric m;
        if (!IsCrossentropy)
        {
            m = isBinary ? new BinaryAccuracy(name: Identifier)
                : isSparse ? new SparseCategoricalAccuracy(name: Identifier)
                : new CategoricalAccuracy(name: Identifier);
        }
        else
        {
            bool fromLogits = loss switch
            {
                Losses.BinaryCrossentropy b => b.FromLogits,
                Losses.CategoricalCrossentropy c => c.FromLogits,
                Losses.SparseCategoricalCrossentropy s => s.FromLogits,
                _ => false,
            };
            m = isBinary ? new BinaryCrossentropy(name: Identifier, fromLogits: fromLogits)
                : isSparse ? new SparseCategoricalCrossentropy(name: Identifier, fromLogits: fromLogits)
                : new CategoricalCrossentropy(name: Identifier, fromLogits: fromLogits);
        }
        return m;
    }

    public override void UpdateState(Tensor yTrue, Tensor yPred, Tensor? sampleWeight = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPred);
        _resolved ??= ResolveFor(yTrue.shape, yPred.shape, null);
        _resolved.UpdateState(yTrue, yPred, sampleWeight, mask);
    }

    public override double Result() => _resolved?.Result() ?? 0.0;

    public override void ResetState() => _resolved?.ResetState();

    public override IReadOnlyDictionary<string, object?> GetConfig() => _resolved?.GetConfig() ?? base.GetConfig();
}
