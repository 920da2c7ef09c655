using static TorchSharp.torch;

namespace Keras.Rnn.Losses;

/// <summary>
/// The <c>"crossentropy"</c>/<c>"ce"</c> identifier before the shapes are known. Keras' <c>compile</c> chooses binary,
/// sparse categorical or categorical cross-entropy from y_true and y_pred; <see cref="Loss.Resolve"/> does that, and
/// if the placeholder is used directly it resolves itself at its first call.
/// </summary>
internal sealed class UnresolvedLoss : Loss
{
    private Loss? _resolved;

    public UnresolvedLoss(string identifier) : base(identifier) => Identifier = identifier;

    /// <summary>The identifier as the user wrote it (also the resolved loss' name).</summary>
    public string Identifier { get; }

    public override string ClassName => _resolved?.ClassName ?? "LossFunctionWrapper";

    public Loss ResolveFor(long[] yTrueShape, long[] yPredShape)
    {
        var (isBinary, isSparse) = ClassifyShapes(yTrueShape, yPredShape);
        if (isBinary) return new BinaryCrossentropy(name: Identifier);
        if (isSparse) return new SparseCategoricalCrossentropy(name: Identifier);
        return new CategoricalCrossentropy(name: Identifier);
    }

    private Loss Target(Tensor yTrue, Tensor yPred) => _resolved ??= ResolveFor(yTrue.shape, yPred.shape);

    public override Tensor Call(Tensor yTrue, Tensor yPred) => Target(yTrue, yPred).Call(yTrue, yPred);

    internal override (Tensor Values, Tensor? Mask) CallWithMask(Tensor yTrue, Tensor yPred) => Target(yTrue, yPred).CallWithMask(yTrue, yPred);

    public override IReadOnlyDictionary<string, object?> GetConfig() =>
        _resolved?.GetConfig() ?? new Dictionary<string, object?> { ["name"] = Name, ["reduction"] = Reduction };
}
