using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>Repeats a <c>(batch, features)</c> input <c>n</c> times: <c>(batch, n, features)</c> (Keras' <c>RepeatVector</c>).</summary>
public sealed class RepeatVector : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="n">Number of repetitions, positive.</param>
    /// <param name="name">Name (default <c>repeat_vector</c>, made unique).</param>
    /// <exception cref="ArgumentException"><paramref name="n"/> is not positive.</exception>
    public RepeatVector(int n, string? name = null) : base(name)
    {
        if (n <= 0) throw new ArgumentException($"RepeatVector: n must be positive, got {n}.", nameof(n));
        N = n;
        InputSpec = new InputSpec(ndim: 2);
    }

    /// <summary>Number of repetitions.</summary>
    public int N { get; }

    /// <inheritdoc />
    protected override Tensor Call(Tensor inputs, CallContext context) => inputs.unsqueeze(1).expand(-1, N, -1).contiguous();

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments) =>
        [new Shape(inputShapes[0][0], N, inputShapes[0][1])];

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["n"] = N;
        return c;
    }
}
