using Keras.Rnn.Utils;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Activations;

/// <summary>
/// An element-wise (or, for softmax, last-axis) activation function with its Keras name (Keras' <c>keras.activations</c>).
/// Wherever an activation is expected, a Keras identifier (<c>"tanh"</c>, <c>"relu"</c>, ...), <c>null</c> (linear)
/// or a <see cref="Func{T, TResult}"/> over tensors is accepted.
/// </summary>
/// <example>
/// <code>
/// var d = new Dense(10, activation: "softmax");
/// var r = new SimpleRNN(8, activation: (ActivationFunction)(x => x.relu()));
/// </code>
/// </example>
public sealed class ActivationFunction
{
    private readonly Func<Tensor, Tensor> _fn;

    /// <summary>Creates a named activation.</summary>
    /// <param name="name">Its Keras name (used in configs and to pick fused kernels).</param>
    /// <param name="fn">The function; it must not modify its input.</param>
    public ActivationFunction(string name, Func<Tensor, Tensor> fn)
    {
        Name = name;
        _fn = fn;
    }

    /// <summary>The Keras name, e.g. <c>tanh</c>.</summary>
    public string Name { get; }

    /// <summary>Whether this is Keras 2's piecewise-linear <c>hard_sigmoid</c> (<c>clip(0.2x + 0.5, 0, 1)</c>) rather than Keras 3's.</summary>
    public bool IsKeras2HardSigmoid { get; private init; }

    /// <summary>Applies the activation.</summary>
    /// <param name="x">Input tensor.</param>
    public Tensor Call(Tensor x) => _fn(x);

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>Identity (<c>"linear"</c>, also what <c>null</c> means).</summary>
    public static ActivationFunction Linear { get; } = new("linear", x => x.alias());
    /// <summary>Hyperbolic tangent.</summary>
    public static ActivationFunction Tanh { get; } = new("tanh", x => x.tanh());
    /// <summary>Logistic sigmoid.</summary>
    public static ActivationFunction Sigmoid { get; } = new("sigmoid", x => x.sigmoid());
    /// <summary>max(x, 0).</summary>
    public static ActivationFunction Relu { get; } = new("relu", x => x.relu());
    /// <summary>min(max(x, 0), 6).</summary>
    public static ActivationFunction Relu6 { get; } = new("relu6", x => x.clamp(0.0, 6.0));
    /// <summary>Leaky ReLU with Keras' default slope 0.2.</summary>
    public static ActivationFunction LeakyRelu { get; } = new("leaky_relu", x => torch.nn.functional.leaky_relu(x, 0.2));
    /// <summary>Softmax over the last axis.</summary>
    public static ActivationFunction Softmax { get; } = new("softmax", x => x.softmax(-1));
    /// <summary>Log-softmax over the last axis.</summary>
    public static ActivationFunction LogSoftmax { get; } = new("log_softmax", x => x.log_softmax(-1));
    /// <summary>Exponential linear unit (alpha 1).</summary>
    public static ActivationFunction Elu { get; } = new("elu", x => torch.nn.functional.elu(x, 1.0));
    /// <summary>Continuously differentiable ELU (alpha 1).</summary>
    public static ActivationFunction Celu { get; } = new("celu", x => torch.nn.functional.celu(x, 1.0));
    /// <summary>Scaled ELU.</summary>
    public static ActivationFunction Selu { get; } = new("selu", x => torch.nn.functional.selu(x));
    /// <summary>log(1 + eˣ).</summary>
    public static ActivationFunction Softplus { get; } = new("softplus", x => torch.nn.functional.softplus(x));
    /// <summary>x / (1 + |x|).</summary>
    public static ActivationFunction Softsign { get; } = new("softsign", x => x.div(x.abs().add(1.0)));
    /// <summary>x · sigmoid(x) (also <c>"swish"</c>).</summary>
    public static ActivationFunction Silu { get; } = new("silu", x => torch.nn.functional.silu(x));
    /// <summary>Gaussian error linear unit (exact form).</summary>
    public static ActivationFunction Gelu { get; } = new("gelu", x => torch.nn.functional.gelu(x));
    /// <summary>eˣ.</summary>
    public static ActivationFunction Exponential { get; } = new("exponential", x => x.exp());
    /// <summary>Keras 3's hard sigmoid: relu6(x + 3) / 6.</summary>
    public static ActivationFunction HardSigmoid { get; } = new("hard_sigmoid", x => x.add(3.0).clamp(0.0, 6.0).div(6.0));
    /// <summary>Keras 2's hard sigmoid: clip(0.2x + 0.5, 0, 1), for models written by Keras 1 and 2.</summary>
    public static ActivationFunction HardSigmoidKeras2 { get; } =
        new("hard_sigmoid", x => x.mul(0.2).add(0.5).clamp(0.0, 1.0)) { IsKeras2HardSigmoid = true };
    /// <summary>x · hard_sigmoid(x) (also <c>"hard_swish"</c>).</summary>
    public static ActivationFunction HardSilu { get; } = new("hard_silu", x => x.mul(x.add(3.0).clamp(0.0, 6.0).div(6.0)));
    /// <summary>clip(x, −1, 1).</summary>
    public static ActivationFunction HardTanh { get; } = new("hard_tanh", x => x.clamp(-1.0, 1.0));
    /// <summary>x · tanh(softplus(x)).</summary>
    public static ActivationFunction Mish { get; } = new("mish", x => x.mul(torch.nn.functional.softplus(x).tanh()));
    /// <summary>log(sigmoid(x)).</summary>
    public static ActivationFunction LogSigmoid { get; } = new("log_sigmoid", x => torch.nn.functional.logsigmoid(x));

    /// <summary>Resolves a Keras identifier; <c>null</c> or empty means linear.</summary>
    /// <param name="identifier">The identifier, e.g. <c>"tanh"</c>.</param>
    /// <exception cref="ArgumentException">Unknown identifier; the message lists the known ones.</exception>
    public static ActivationFunction Get(string? identifier)
    {
        if (string.IsNullOrWhiteSpace(identifier)) return Linear;
        return Naming.NormalizeIdentifier(identifier) switch
        {
            "linear" => Linear,
            "tanh" => Tanh,
            "sigmoid" => Sigmoid,
            "relu" => Relu,
            "relu6" or "relu_6" => Relu6,
            "leaky_relu" => LeakyRelu,
            "softmax" => Softmax,
            "log_softmax" => LogSoftmax,
            "elu" => Elu,
            "celu" => Celu,
            "selu" => Selu,
            "softplus" => Softplus,
            "softsign" => Softsign,
            "silu" or "swish" => Silu,
            "gelu" => Gelu,
            "exponential" => Exponential,
            "hard_sigmoid" => HardSigmoid,
            "hard_silu" or "hard_swish" => HardSilu,
            "hard_tanh" => HardTanh,
            "mish" => Mish,
            "log_sigmoid" => LogSigmoid,
            _ => throw new ArgumentException(
                $"Unknown activation '{identifier}'. Known: linear, tanh, sigmoid, relu, relu6, leaky_relu, softmax, log_softmax, elu, celu, selu, " +
                "softplus, softsign, silu (swish), gelu, exponential, hard_sigmoid, hard_silu (hard_swish), hard_tanh, mish, log_sigmoid.",
                nameof(identifier)),
        };
    }

    /// <summary>Converts a Keras identifier.</summary>
    /// <param name="identifier">The identifier.</param>
    public static implicit operator ActivationFunction(string identifier) => Get(identifier);

    /// <summary>Wraps a custom function (named <c>custom</c>).</summary>
    /// <param name="fn">The function.</param>
    public static implicit operator ActivationFunction(Func<Tensor, Tensor> fn) => new("custom", fn);
}
