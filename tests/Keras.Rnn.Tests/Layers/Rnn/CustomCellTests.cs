using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>Keras' rnn_test.py <c>OneStateRNNCell</c>: <c>out = x·K + h·R</c> with "ones" weights, written as a user cell.</summary>
internal sealed class OneStateRNNCell(int units) : AbstractRNNCell
{
    private Variable? _kernel, _recurrent;

    public override IReadOnlyList<int> StateSize => [units];

    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        _kernel = AddWeight("kernel", [inputShapes[0][-1]!.Value, units], "ones");
        _recurrent = AddWeight("recurrent_kernel", [units, units], "ones");
    }

    public override (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training)
    {
        var output = inputs.matmul(_kernel!.Value).add(states[0].matmul(_recurrent!.Value));
        return (output, [output]);
    }
}

/// <summary>
/// Keras' rnn_test.py <c>TwoStatesRNNCell</c> (state sizes [u, u], output = out1 + out2; as in Keras' test, both
/// recurrent products read the first state).
/// </summary>
internal sealed class TwoStatesRNNCell(int units) : AbstractRNNCell
{
    private Variable? _kernel, _recurrent1, _recurrent2;

    public override IReadOnlyList<int> StateSize => [units, units];

    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        _kernel = AddWeight("kernel", [inputShapes[0][-1]!.Value, units], "ones");
        _recurrent1 = AddWeight("recurrent_kernel_1", [units, units], "ones");
        _recurrent2 = AddWeight("recurrent_kernel_2", [units, units], "ones");
    }

    public override (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training)
    {
        var h = inputs.matmul(_kernel!.Value);
        var o1 = h.add(states[0].matmul(_recurrent1!.Value));
        var o2 = h.add(states[0].matmul(_recurrent2!.Value));
        return (o1.add(o2), [o1, o2]);
    }
}

/// <summary>A user cell with an output size different from its state size: out = [h, 2h], state h' = tanh(x·K + h·R).</summary>
internal sealed class WideOutputCell(int units) : AbstractRNNCell
{
    private Variable? _kernel, _recurrent;

    public override IReadOnlyList<int> StateSize => [units];
    public override int OutputSize => 2 * units;

    public Variable Kernel => _kernel!;
    public Variable Recurrent => _recurrent!;

    protected override void BuildCore(IReadOnlyList<Shape> inputShapes)
    {
        _kernel = AddWeight("kernel", [inputShapes[0][-1]!.Value, units]);
        _recurrent = AddWeight("recurrent_kernel", [units, units], "orthogonal");
    }

    public override (Tensor Output, IReadOnlyList<Tensor> States) Step(Tensor inputs, IReadOnlyList<Tensor> states, bool training)
    {
        var h = inputs.matmul(_kernel!.Value).add(states[0].matmul(_recurrent!.Value)).tanh();
        return (torch.cat([h, h.mul(2)], -1), [h]);
    }
}

/// <summary>
/// User-written <see cref="AbstractRNNCell"/> subclasses run by <see cref="RNN"/>, and <see cref="StackedRNNCells"/>:
/// Keras' golden values from rnn_test.py and stacked_rnn_cells_test.py (same cells, "ones" weights), plus the
/// double-precision reference for stacks of built-in cells.
/// </summary>
public class CustomCellTests
{
    private static Tensor Ones(int b, int t, int f) => torch.ones(b, t, f);

    [Fact]
    public void OneStateCellForward()
    {
        // rnn_test.py test_forward_pass_single_state.
        var x = Ones(1, 2, 3);
        T.Close(T.M([9.0, 9.0]), new RNN(new OneStateRNNCell(2)).Apply(x));
        T.Close(new double[,,] { { { 3, 3 }, { 9, 9 } } }, new RNN(new OneStateRNNCell(2), returnSequences: true).Apply(x));
        var r = new RNN(new OneStateRNNCell(2), returnState: true).ApplyAll([x]);
        Assert.Equal(2, r.Count);
        T.Close(T.M([9.0, 9.0]), r[0]);
        T.Close(T.M([9.0, 9.0]), r[1]);
        var rs = new RNN(new OneStateRNNCell(2), returnSequences: true, returnState: true).ApplyAll([x]);
        T.Close(new double[,,] { { { 3, 3 }, { 9, 9 } } }, rs[0]);
        T.Close(T.M([9.0, 9.0]), rs[1]);
    }

    [Fact]
    public void TwoStatesCellForward()
    {
        // rnn_test.py test_forward_pass_two_states.
        var x = Ones(1, 2, 3);
        T.Close(T.M([18.0, 18.0]), new RNN(new TwoStatesRNNCell(2)).Apply(x));
        T.Close(new double[,,] { { { 6, 6 }, { 18, 18 } } }, new RNN(new TwoStatesRNNCell(2), returnSequences: true).Apply(x));
        var r = new RNN(new TwoStatesRNNCell(2), returnSequences: true, returnState: true).ApplyAll([x]);
        Assert.Equal(3, r.Count);
        T.Close(new double[,,] { { { 6, 6 }, { 18, 18 } } }, r[0]);
        T.Close(T.M([9.0, 9.0]), r[1]);
        T.Close(T.M([9.0, 9.0]), r[2]);
    }

    [Fact]
    public void CustomCellInitialState()
    {
        // rnn_test.py test_passing_initial_state_single_state / _two_states.
        var x = Ones(2, 3, 2);
        var one = new RNN(new OneStateRNNCell(2), returnState: true).ApplyAll([x], initialState: [torch.ones(2, 2)]);
        T.Close(T.Rows(2, 22, 22), one[0]);
        T.Close(T.Rows(2, 22, 22), one[1]);
        var two = new RNN(new TwoStatesRNNCell(2), returnState: true).ApplyAll([x], initialState: [torch.ones(2, 2), torch.ones(2, 2)]);
        T.Close(T.Rows(2, 44, 44), two[0]);
        T.Close(T.Rows(2, 22, 22), two[1]);
        T.Close(T.Rows(2, 22, 22), two[2]);
    }

    [Fact]
    public void CustomCellStateful()
    {
        // rnn_test.py test_statefulness_single_state / _two_states.
        var x = Ones(1, 2, 3);
        var one = new RNN(new OneStateRNNCell(2), stateful: true, returnState: true);
        one.ApplyAll([x]);
        var r = one.ApplyAll([x]);
        T.Close(T.M([45.0, 45.0]), r[0]);
        T.Close(T.M([45.0, 45.0]), r[1]);
        var two = new RNN(new TwoStatesRNNCell(2), stateful: true, returnState: true);
        two.ApplyAll([x]);
        var r2 = two.ApplyAll([x]);
        T.Close(T.M([90.0, 90.0]), r2[0]);
        T.Close(T.M([45.0, 45.0]), r2[1]);
        T.Close(T.M([45.0, 45.0]), r2[2]);
    }

    [Fact]
    public void CustomCellGoBackwardsAndStateful()
    {
        // rnn_test.py test_go_backwards: arange(24).reshape(2, 3, 4).
        var x = T.ToTensor(T.Arange(2, 3, 4));
        var back = new RNN(new OneStateRNNCell(2), goBackwards: true);
        back.Apply(x);
        T.Close(T.M([202.0, 202.0], [538.0, 538.0]), back.Apply(x));
        var stateful = new RNN(new OneStateRNNCell(2), stateful: true, returnState: true);
        stateful.ApplyAll([x]);
        var r = stateful.ApplyAll([x]);
        T.Close(T.M([954.0, 954.0], [3978.0, 3978.0]), r[0], 1e-3);
        T.Close(T.M([954.0, 954.0], [3978.0, 3978.0]), r[1], 1e-3);
    }

    [Fact]
    public void CustomCellMasking()
    {
        // rnn_test.py test_masking: right-padded mask, unroll both ways, last output and sequences.
        var x = T.ToTensor(T.Arange(2, 4, 3));
        var mask = T.Mask(new[,] { { true, true, true, false }, { true, true, false, false } });
        foreach (var unroll in new[] { false, true })
        {
            T.Close(T.M([57.0, 57.0], [126.0, 126.0]), new RNN(new OneStateRNNCell(2), unroll: unroll).Apply(x, mask));
            T.Close(new double[,,]
            {
                { { 3, 3 }, { 18, 18 }, { 57, 57 }, { 57, 57 } },
                { { 39, 39 }, { 126, 126 }, { 126, 126 }, { 126, 126 } },
            }, new RNN(new OneStateRNNCell(2), returnSequences: true, unroll: unroll).Apply(x, mask));
        }
    }

    [Fact]
    public void StackedCustomCells()
    {
        // stacked_rnn_cells_test.py test_correctness_single_state_stack / _two_states_stack / statefulness.
        var x = T.ToTensor(T.Arange(2, 3, 4));
        T.Close(T.M([786.0, 786.0], [4386.0, 4386.0]), new RNN([new OneStateRNNCell(3), new OneStateRNNCell(2)]).Apply(x));
        var r = new RNN([new OneStateRNNCell(3), new OneStateRNNCell(2)], returnSequences: true, returnState: true).ApplyAll([x]);
        Assert.Equal(3, r.Count);
        T.Close(new double[,,]
        {
            { { 18, 18 }, { 156, 156 }, { 786, 786 } },
            { { 162, 162 }, { 1020, 1020 }, { 4386, 4386 } },
        }, r[0]);
        T.Close(T.M([158.0, 158.0, 158.0], [782.0, 782.0, 782.0]), r[1]);
        T.Close(T.M([786.0, 786.0], [4386.0, 4386.0]), r[2]);

        // Two-state cells: states flattened in order [s1a, s1b, s2a, s2b].
        var two = new RNN([new TwoStatesRNNCell(3), new TwoStatesRNNCell(2)], returnState: true).ApplyAll([x]);
        Assert.Equal(5, two.Count);
        T.Close(T.M([3144.0, 3144.0], [17544.0, 17544.0]), two[0]);
        T.Close(T.M([158.0, 158.0, 158.0], [782.0, 782.0, 782.0]), two[1]);
        T.Close(T.M([158.0, 158.0, 158.0], [782.0, 782.0, 782.0]), two[2]);
        T.Close(T.M([1572.0, 1572.0], [8772.0, 8772.0]), two[3]);
        T.Close(T.M([1572.0, 1572.0], [8772.0, 8772.0]), two[4]);

        var stateful = new RNN([new OneStateRNNCell(3), new OneStateRNNCell(2)], stateful: true);
        stateful.Apply(x);
        T.Close(T.M([34092.0, 34092.0], [173196.0, 173196.0]), stateful.Apply(x), 1e-2);
        var stateful2 = new RNN([new TwoStatesRNNCell(3), new TwoStatesRNNCell(2)], stateful: true);
        stateful2.Apply(x);
        T.Close(T.M([136368.0, 136368.0], [692784.0, 692784.0]), stateful2.Apply(x), 1e-1);
    }

    [Fact]
    public void StackedLstmCellShapes()
    {
        // stacked_rnn_cells_test.py test_return_state_stacked_lstm_cell (Keras nests the states per cell; we flatten them).
        var layer = new RNN([new LSTMCell(10), new LSTMCell(10)], returnState: true);
        var r = layer.ApplyAll([torch.zeros(2, 3, 5)]);
        Assert.Equal(5, r.Count);
        foreach (var t in r) Assert.Equal(new long[] { 2, 10 }, t.shape);
        var shapes = layer.ComputeOutputShapes([new Shape(2, 3, 5)], new Dictionary<string, object?>());
        Assert.Equal(5, shapes.Count);
        Assert.All(shapes, s => Assert.Equal(new Shape(2, 10), s));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StackedBuiltInCellsMatchReference(bool withMask)
    {
        // LSTMCell(3) then GRUCell(2) per step == an LSTM layer's sequence fed to a GRU layer (double-precision reference).
        var rng = new Random(11);
        var x = T.Rand(rng, 3, 5, 4);
        var wl = RnnReference.RandomWeights(rng, CellKind.Lstm, 4, 3);
        var wg = RnnReference.RandomWeights(rng, CellKind.GruResetAfter, 3, 2);
        bool[,]? mask = withMask ? new[,] { { true, false, true, true, false }, { true, true, true, true, true }, { false, false, true, true, true } } : null;

        var layer = new RNN([new LSTMCell(3), new GRUCell(2)], returnSequences: true, returnState: true);
        layer.Build(new Shape(null, null, 4));
        Assert.Equal(6, layer.Weights.Count);
        layer.SetWeights([.. wl.ToKerasList(), .. wg.ToKerasList()]);
        var r = layer.ApplyAll([T.ToTensor(x)], masks: mask is null ? null : [T.Mask(mask)]);

        var (seq1, s1) = RnnReference.Run(CellKind.Lstm, wl, x, mask);
        var (seq2, s2) = RnnReference.Run(CellKind.GruResetAfter, wg, seq1, mask);
        Assert.Equal(4, r.Count);
        T.Close(seq2, r[0], 1e-5, what: "outputs");
        T.Close(s1[0], r[1], 1e-5, what: "h1");
        T.Close(s1[1], r[2], 1e-5, what: "c1");
        T.Close(s2[0], r[3], 1e-5, what: "h2");
    }

    [Fact]
    public void CellWithOutputSizeDifferentFromStateSize()
    {
        // Keras' output_size: the layer's output width follows the cell's output size, not its state size.
        var cell = new WideOutputCell(3);
        var layer = new RNN(cell, returnSequences: true, returnState: true);
        var x = T.Rand(new Random(3), 2, 4, 5);
        var r = layer.ApplyAll([T.ToTensor(x)]);
        Assert.Equal(new long[] { 2, 4, 6 }, r[0].shape);
        Assert.Equal(new long[] { 2, 3 }, r[1].shape);
        // Same numbers as a SimpleRNN reference without bias (h' = tanh(x·K + h·R)).
        var w = new RefWeights(ToDouble(cell.Kernel), ToDouble(cell.Recurrent), null);
        var (seq, states) = RnnReference.Run(CellKind.SimpleRnn, w, x);
        var h = r[0].narrow(2, 0, 3);
        var h2 = r[0].narrow(2, 3, 3);
        T.Close(seq, h);
        T.Close(T.Values(h).Select(v => 2 * v).ToArray(), T.Values(h2));
        T.Close(states[0], r[1]);
        var shapes = layer.ComputeOutputShapes([new Shape(null, 4, 5)], new Dictionary<string, object?>());
        Assert.Equal(new Shape(null, 4, 6), shapes[0]);
        Assert.Equal(new Shape(null, 3), shapes[1]);
    }

    [Fact]
    public void BidirectionalNeedsExplicitBackwardLayerForUserCell()
    {
        var ex = Assert.ThrowsAny<Exception>(() => new Bidirectional(new RNN(new OneStateRNNCell(2))));
        Assert.Contains("OneStateRNNCell", ex.Message);
        // With an explicit backward layer it works: forward 9 then backward 9 for ones input (rnn_test values).
        var layer = new Bidirectional(new RNN(new OneStateRNNCell(2)), backwardLayer: new RNN(new OneStateRNNCell(2), goBackwards: true));
        T.Close(T.M([9.0, 9.0, 9.0, 9.0]), layer.Apply(Ones(1, 2, 3)));
    }

    internal static double[,] ToDouble(Variable v)
    {
        var a = (float[,])v.ToArray();
        var r = new double[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) r[i, j] = a[i, j];
        return r;
    }
}
