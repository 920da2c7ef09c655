using Keras.Rnn.Layers;

namespace Keras.Rnn;

/// <summary>
/// One call of a layer on symbolic tensors: which tensors went in (positional inputs, initial states, explicit masks),
/// with which non-tensor arguments, and which tensors came out. Functional models are graphs of nodes.
/// </summary>
internal sealed class Node
{
    public Node(Layer layer, IReadOnlyList<KerasTensor> inputs, IReadOnlyList<KerasTensor>? initialState,
        IReadOnlyList<KerasTensor>? mask, bool? training, IReadOnlyDictionary<string, object?> arguments)
    {
        Layer = layer;
        Inputs = inputs;
        InitialState = initialState;
        Mask = mask;
        Training = training;
        Arguments = arguments;
    }

    public Layer Layer { get; }

    /// <summary>Positional inputs.</summary>
    public IReadOnlyList<KerasTensor> Inputs { get; }

    /// <summary>Symbolic initial states (recurrent layers), or <c>null</c>.</summary>
    public IReadOnlyList<KerasTensor>? InitialState { get; }

    /// <summary>Explicit symbolic masks for the inputs, or <c>null</c> to use the masks that flow with them.</summary>
    public IReadOnlyList<KerasTensor>? Mask { get; }

    /// <summary>A fixed <c>training</c> argument, or <c>null</c> to inherit the model's mode.</summary>
    public bool? Training { get; }

    /// <summary>Non-tensor keyword arguments of the call.</summary>
    public IReadOnlyDictionary<string, object?> Arguments { get; }

    public IReadOnlyList<KerasTensor> Outputs { get; internal set; } = [];

    /// <summary>Every symbolic tensor this node consumes.</summary>
    public IEnumerable<KerasTensor> AllInputs =>
        Inputs.Concat(InitialState ?? []).Concat(Mask ?? []);

    /// <summary>The producing nodes of this node's inputs.</summary>
    public IEnumerable<Node> Parents => AllInputs.Select(t => t.Node).OfType<Node>().Distinct();
}
