using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Runs a recurrent layer forwards and a copy of it backwards over the same sequence and merges their outputs
/// (Keras' <c>Bidirectional</c>). The backward outputs are reversed back to input order before merging. Merge modes:
/// <c>"concat"</c> (default), <c>"sum"</c>, <c>"mul"</c>, <c>"ave"</c>, or <c>null</c> (both outputs returned). With
/// <c>returnSequences</c>, masked steps output zeros. Weights: the forward layer's, then the backward layer's.
/// </summary>
/// <example>
/// <code>
/// var model = new Sequential(
///     new InputLayer([null], dtype: "int32"),
///     new Embedding(5000, 64, maskZero: true),
///     new Bidirectional(new LSTM(32, returnSequences: true)),
///     new Bidirectional(new GRU(16), mergeMode: "sum"),
///     new Dense(1, activation: "sigmoid"));
/// </code>
/// </example>
public sealed class Bidirectional : Layer
{
    private static readonly string?[] MergeModes = ["concat", "sum", "mul", "ave", null];

    /// <summary>Creates the wrapper.</summary>
    /// <param name="layer">The recurrent layer; a fresh copy runs forwards (named <c>forward_…</c>). A layer over a user cell,
    /// which cannot be copied, runs forwards itself (renamed <c>forward_…</c>) when <paramref name="backwardLayer"/> is given.</param>
    /// <param name="mergeMode"><c>"concat"</c> (default), <c>"sum"</c>, <c>"mul"</c>, <c>"ave"</c> or <c>null</c>.</param>
    /// <param name="backwardLayer">The layer to run backwards (must have the opposite <c>goBackwards</c>); default: a copy of
    /// <paramref name="layer"/> with <c>goBackwards</c> flipped, named <c>backward_…</c>.</param>
    /// <param name="name">Name (default <c>bidirectional</c>, made unique).</param>
    /// <exception cref="ArgumentException">Unknown merge mode, or forward and backward layers that do not match.</exception>
    public Bidirectional(RNN layer, string? mergeMode = "concat", RNN? backwardLayer = null, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (!MergeModes.Contains(mergeMode))
            throw new ArgumentException($"Invalid merge mode. Received: {mergeMode}. Merge mode should be one of {{\"sum\", \"mul\", \"ave\", \"concat\", null}}.", nameof(mergeMode));
        var forwardName = "forward_" + RemovePrefix(layer.Name, "forward_");
        if (backwardLayer is not null && layer.Cell.CloneFresh() is null)
        {
            // A user cell cannot be copied; with an explicit backward layer the given layer itself runs forwards.
            layer.Name = forwardName;
            Forward = layer;
        }
        else
        {
            Forward = layer.CloneWith(layer.GoBackwards, forwardName);
        }
        Backward = backwardLayer ?? layer.CloneWith(!layer.GoBackwards, "backward_" + RemovePrefix(layer.Name, "backward_"));
        if (Forward.GoBackwards == Backward.GoBackwards)
            throw new ArgumentException(
                $"Forward layer and backward layer should have different `go_backwards` value. Received: forward_layer.go_backwards {Forward.GoBackwards}, backward_layer.go_backwards={Backward.GoBackwards}");
        if (Forward.Stateful != Backward.Stateful || Forward.ReturnSequences != Backward.ReturnSequences || Forward.ReturnState != Backward.ReturnState)
            throw new ArgumentException("Forward layer and backward layer are expected to have the same values for stateful, returnSequences and returnState.");
        Forward.ZeroOutputForMask = Forward.ReturnSequences;
        Backward.ZeroOutputForMask = Backward.ReturnSequences;
        TrackLayer(Forward);
        TrackLayer(Backward);
        MergeMode = mergeMode;
        SupportsMasking = true;
        InputSpecs = Forward.InputSpecs;
    }

    private static string RemovePrefix(string s, string prefix) => s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;

    /// <summary>The layer run forwards.</summary>
    public RNN Forward { get; }
    /// <summary>The layer run backwards.</summary>
    public RNN Backward { get; }
    /// <summary>How outputs are merged (<c>null</c>: both returned).</summary>
    public string? MergeMode { get; }
    /// <summary>Whether every step's output is returned.</summary>
    public bool ReturnSequences => Forward.ReturnSequences;
    /// <summary>Whether final states are returned (forward's, then backward's).</summary>
    public bool ReturnState => Forward.ReturnState;
    /// <summary>Whether states carry over between calls.</summary>
    public bool Stateful => Forward.Stateful;

    /// <summary>Zeros the carried states of both directions.</summary>
    /// <exception cref="InvalidOperationException">The layer is not stateful.</exception>
    public void ResetStates()
    {
        Forward.ResetStates();
        Backward.ResetStates();
    }

    internal override (IReadOnlyList<Tensor> Outputs, IReadOnlyList<Tensor?> Masks) Invoke(IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? masks, IReadOnlyList<Tensor>? initialState, bool training, IReadOnlyDictionary<string, object?>? arguments,
        List<Tensor>? losses)
    {
        if (inputs.Count > 0 && inputs[0].dim() > 0)
        {
            Forward.NoteEagerBatchSize(inputs[0].shape[0]);
            Backward.NoteEagerBatchSize(inputs[0].shape[0]);
        }
        return base.Invoke(inputs, masks, initialState, training, arguments, losses);
    }

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        Forward.Build(inputShapes);
        Backward.Build(inputShapes);
        InputSpecs = Forward.InputSpecs;
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor> CallAll(IReadOnlyList<Tensor> inputs, CallContext context)
    {
        IReadOnlyList<Tensor>? forwardState = null, backwardState = null;
        if (context.InitialState is { Count: > 0 } states)
        {
            if (states.Count % 2 != 0)
                throw new KerasLayerException(this, $"expected an even number of initial states (forward's then backward's), received {states.Count}.");
            int half = states.Count / 2;
            forwardState = states.Take(half).ToList();
            backwardState = states.Skip(half).ToList();
        }
        var y = CallDirection(Forward, inputs, context.With(initialState: forwardState, keepState: false));
        var yRev = CallDirection(Backward, inputs, context.With(initialState: backwardState, keepState: false));
        var output = y[0];
        var outputRev = ReturnSequences ? yRev[0].flip(1) : yRev[0];
        var result = new List<Tensor>();
        switch (MergeMode)
        {
            case "concat": result.Add(torch.cat([output, outputRev], -1)); break;
            case "sum": result.Add(output.add(outputRev)); break;
            case "ave": result.Add(output.add(outputRev).div_(2)); break;
            case "mul": result.Add(output.mul(outputRev)); break;
            default: result.Add(output); result.Add(outputRev); break;
        }
        if (ReturnState)
        {
            result.AddRange(y.Skip(1));
            result.AddRange(yRev.Skip(1));
        }
        return result;
    }

    /// <summary>
    /// One direction's call under that layer's own dtype policy, as Keras calls each wrapped layer: floating inputs
    /// cast to its compute dtype and its weights read in it (a float32 layer inside a mixed model stays float32).
    /// </summary>
    private static IReadOnlyList<Tensor> CallDirection(RNN layer, IReadOnlyList<Tensor> inputs, CallContext context)
    {
        var cast = layer.CastToComputeDType(inputs);
        using var autocast = layer.EnterAutocast();
        return layer.CallAll(cast, context);
    }

    /// <inheritdoc />
    protected internal override IReadOnlyList<Tensor?> ComputeMask(IReadOnlyList<Tensor> inputs, CallContext context, int outputCount)
    {
        var result = new Tensor?[outputCount];
        if (ReturnSequences)
        {
            result[0] = context.Mask;
            if (MergeMode is null) result[1] = context.Mask;
        }
        return result;
    }

    private protected override IReadOnlyList<Shape> ComputeOutputShapesForCall(IReadOnlyList<Shape> inputShapes,
        IReadOnlyList<Shape>? stateShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        if (stateShapes is { Count: > 0 })
        {
            if (stateShapes.Count % 2 != 0)
                throw new KerasLayerException(this, $"expected an even number of initial states (forward's then backward's), received {stateShapes.Count}.");
            int half = stateShapes.Count / 2;
            Forward.Cell.CheckStateShapes(stateShapes.Take(half).ToList(), inputShapes[0][0], this);
            Backward.Cell.CheckStateShapes(stateShapes.Skip(half).ToList(), inputShapes[0][0], this);
        }
        return base.ComputeOutputShapesForCall(inputShapes, stateShapes, arguments);
    }

    /// <inheritdoc />
    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var forward = Forward.ComputeOutputShapes(inputShapes, arguments);
        var output = forward[0];
        var states = forward.Skip(1).ToList();
        var result = new List<Shape>();
        if (MergeMode == "concat") result.Add(output.With(-1, output[-1] * 2));
        else if (MergeMode is null) { result.Add(output); result.Add(output); }
        else result.Add(output);
        if (ReturnState)
        {
            result.AddRange(states);
            result.AddRange(states);
        }
        return result;
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["merge_mode"] = MergeMode;
        c["layer"] = Forward;
        c["backward_layer"] = Backward;
        return c;
    }
}
