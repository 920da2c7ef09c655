using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Layers;

/// <summary>
/// Several cells run one after another at each time step (Keras' <c>StackedRNNCells</c>): the output of cell k is
/// the input of cell k+1. States are the cells' states concatenated in order (flat), e.g. <c>[h1, c1, h2, c2]</c>
/// for two LSTM cells; the output is the last cell's.
/// </summary>
/// <example>
/// <code>
/// var layer = new RNN(new StackedRNNCells([new LSTMCell(64), new LSTMCell(32)]), returnSequences: true);
/// </code>
/// </example>
public sealed class StackedRNNCells : AbstractRNNCell
{
    /// <summary>Creates the stack.</summary>
    /// <param name="cells">The cells, first applied first; at least one.</param>
    /// <param name="name">Name (default <c>stacked_rnn_cells</c>, made unique).</param>
    /// <exception cref="ArgumentException">No cells.</exception>
    public StackedRNNCells(IEnumerable<AbstractRNNCell> cells, string? name = null) : base(name)
    {
        Cells = cells?.ToList() ?? throw new ArgumentNullException(nameof(cells));
        if (Cells.Count == 0) throw new ArgumentException("StackedRNNCells needs at least one cell.", nameof(cells));
        foreach (var c in Cells) TrackLayer(c);
    }

    /// <summary>The cells, in order.</summary>
    public IReadOnlyList<AbstractRNNCell> Cells { get; }

    /// <inheritdoc />
    public override IReadOnlyList<int> StateSize => Cells.SelectMany(c => c.StateSize).ToList();

    /// <inheritdoc />
    public override int OutputSize => Cells[^1].OutputSize;

    /// <inheritdoc />
    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        var shape = inputShapes[0];
        foreach (var cell in Cells)
        {
            cell.Build(shape);
            shape = new Shape(shape[0], cell.OutputSize);
        }
    }

    /// <inheritdoc />
    public override IReadOnlyList<Tensor> GetInitialState(long batchSize, Device device) =>
        Cells.SelectMany(c => c.GetInitialState(batchSize, device)).ToList();

    /// <inheritdoc />
    public override (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training)
    {
        var x = inputs;
        var newStates = new List<Tensor>(states.Count);
        int offset = 0;
        foreach (var cell in Cells)
        {
            int n = cell.StateSize.Count;
            var (output, cellStates) = cell.Step(x, states.Skip(offset).Take(n).ToList(), training);
            newStates.AddRange(cellStates);
            offset += n;
            x = output;
        }
        return (x, newStates);
    }

    internal override AbstractRNNCell? CloneFresh()
    {
        var copies = Cells.Select(c => c.CloneFresh()).ToList();
        return copies.Any(c => c is null) ? null : new StackedRNNCells(copies!, Name);
    }

    /// <inheritdoc />
    public override void ResetDropoutMasks()
    {
        base.ResetDropoutMasks();
        foreach (var c in Cells) c.ResetDropoutMasks();
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["cells"] = Cells.ToList();
        return c;
    }
}
