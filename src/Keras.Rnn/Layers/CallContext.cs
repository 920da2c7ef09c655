using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Everything a layer's <see cref="Layer.Call(Tensor, CallContext)"/> receives besides its inputs: the training flag,
/// the masks that came with the inputs, initial states (recurrent layers) and extra keyword arguments.
/// </summary>
public sealed class CallContext
{
    private readonly List<Tensor>? _losses;

    internal CallContext(bool training, IReadOnlyList<Tensor?> masks, IReadOnlyList<Tensor>? initialState,
        IReadOnlyDictionary<string, object?>? arguments, List<Tensor>? losses)
    {
        Training = training;
        Masks = masks;
        InitialState = initialState;
        Arguments = arguments ?? EmptyArguments;
        _losses = losses;
    }

    internal static readonly IReadOnlyDictionary<string, object?> EmptyArguments = new Dictionary<string, object?>();

    /// <summary>Whether the call is part of training (dropout active) or inference.</summary>
    public bool Training { get; }

    /// <summary>One mask per positional input (<c>null</c> where the input has none); a mask is boolean <c>(batch, time)</c>.</summary>
    public IReadOnlyList<Tensor?> Masks { get; }

    /// <summary>The first input's mask, or <c>null</c>.</summary>
    public Tensor? Mask => Masks.Count > 0 ? Masks[0] : null;

    /// <summary>Initial states passed to a recurrent layer, or <c>null</c>.</summary>
    public IReadOnlyList<Tensor>? InitialState { get; }

    /// <summary>Extra keyword arguments of the call.</summary>
    public IReadOnlyDictionary<string, object?> Arguments { get; }

    /// <summary>Reads a keyword argument, or <paramref name="defaultValue"/> when absent.</summary>
    /// <typeparam name="T">Expected type.</typeparam>
    /// <param name="name">Argument name.</param>
    /// <param name="defaultValue">Value when absent.</param>
    public T GetArgument<T>(string name, T defaultValue) =>
        Arguments.TryGetValue(name, out var v) && v is T t ? t : defaultValue;

    /// <summary>
    /// Adds a term to the training loss (Keras' <c>add_loss</c>), e.g. an activity penalty. Ignored outside training
    /// and evaluation.
    /// </summary>
    /// <param name="loss">A scalar tensor.</param>
    public void AddLoss(Tensor loss) => _losses?.Add(loss);

    internal List<Tensor>? LossSink => _losses;

    internal CallContext With(IReadOnlyList<Tensor?>? masks = null, IReadOnlyList<Tensor>? initialState = null, bool keepState = true) =>
        new(Training, masks ?? Masks, keepState ? initialState ?? InitialState : initialState, Arguments, _losses);
}
