using Keras.Rnn.Activations;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>Applies an activation function (Keras' <c>Activation</c> layer). Passes masks on.</summary>
public sealed class Activation : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="activation">The activation, e.g. <c>"relu"</c>.</param>
    /// <param name="name">Name (default <c>activation</c>, made unique).</param>
    public Activation(ActivationFunction activation, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(activation);
        Function = activation;
        SupportsMasking = true;
    }

    /// <summary>The activation.</summary>
    public ActivationFunction Function { get; }

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context) => Function.Call(inputs);

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) => inputShapes;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["activation"] = Function;
        return c;
    }
}
