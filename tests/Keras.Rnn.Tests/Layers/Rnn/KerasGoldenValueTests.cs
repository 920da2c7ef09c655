using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>
/// Forward values published in Keras 3.15's own tests (keras/src/layers/rnn/*_test.py, <c>test_correctness</c>,
/// <c>test_statefulness</c>, <c>test_pass_initial_state</c>, <c>test_masking</c>, ...), reproduced with the same
/// setup: constant initialisers kernel 0.01, recurrent 0.02, bias 0.03 and <c>np.arange</c> inputs. Keras asserts
/// them with its default tolerance (1e-6 + 1e-6·|x|) or atol=rtol=1e-5; we use 1e-5.
/// </summary>
public class KerasGoldenValueTests
{
    private const double Tol = 1e-5;
    private static readonly Initializer K = new Constant(0.01), R = new Constant(0.02), B = new Constant(0.03);

    private static Tensor Seq(int b, int t, int f) => T.ToTensor(T.Arange(b, t, f));

    private static Tensor KerasMask(params bool[][] rows)
    {
        var m = new bool[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[0].Length; j++) m[i, j] = rows[i][j];
        return T.Mask(m);
    }

    // ------------------------------------------------------------------ SimpleRNN (simple_rnn_test.py)

    [Fact]
    public void SimpleRnnCorrectness()
    {
        // simple_rnn_test.py test_correctness: sequence arange(24).reshape(2, 3, 4), units 4.
        var x = Seq(2, 3, 4);
        var expected = T.Repeat(4, 0.405432, 0.73605347);
        T.Close(expected, new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B).Apply(x), Tol);
        T.Close(expected, new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, unroll: true).Apply(x), Tol);
        var backwards = T.Repeat(4, 0.11144729, 0.5528889);
        T.Close(backwards, new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true).Apply(x), Tol);
        T.Close(backwards, new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true, unroll: true).Apply(x), Tol);
    }

    [Fact]
    public void SimpleRnnStatefulness()
    {
        // simple_rnn_test.py test_statefulness: the second call starts from the first call's final state.
        var x = Seq(2, 3, 4);
        var layer = new SimpleRNN(4, stateful: true, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B);
        var expected = T.Repeat(4, 0.40559256, 0.7361247);
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
        layer.ResetStates();
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
    }

    [Fact]
    public void SimpleRnnInitialState()
    {
        // simple_rnn_test.py test_pass_initial_state: sequence arange(24).reshape(2, 4, 3), state arange(8).reshape(2, 4).
        var x = Seq(2, 4, 3);
        var s = T.ToTensor(T.Arange(2, 4));
        var layer = new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B);
        T.Close(T.Repeat(4, 0.33621645, 0.6262637), layer.ApplyAll([x], initialState: [s])[0], Tol);
        var back = new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true);
        T.Close(T.Repeat(4, 0.07344437, 0.43043602), back.ApplyAll([x], initialState: [s])[0], Tol);
    }

    [Fact]
    public void SimpleRnnMasking()
    {
        // simple_rnn_test.py test_masking: masks with gaps ([T, T, F, T], [T, F, F, T]).
        var x = Seq(2, 4, 3);
        var mask = KerasMask([true, true, false, true], [true, false, false, true]);
        T.Close(T.Repeat(4, 0.32951632, 0.61799484),
            new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, unroll: true).Apply(x, mask), Tol);

        var seq = new SimpleRNN(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, returnSequences: true).Apply(x, mask);
        T.Close(new double[,,]
        {
            { { 0.0599281, 0.0599281 }, { 0.15122814, 0.15122814 }, { 0.15122814, 0.15122814 }, { 0.32394567, 0.32394567 } },
            { { 0.3969304, 0.3969304 }, { 0.3969304, 0.3969304 }, { 0.3969304, 0.3969304 }, { 0.608085, 0.608085 } },
        }, seq, Tol);

        // zero_output_for_mask=True (an RNN argument in Keras).
        var zero = new RNN(new SimpleRNNCell(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B),
            returnSequences: true, zeroOutputForMask: true).Apply(x, mask);
        T.Close(new double[,,]
        {
            { { 0.0599281, 0.0599281 }, { 0.15122814, 0.15122814 }, { 0, 0 }, { 0.32394567, 0.32394567 } },
            { { 0.3969304, 0.3969304 }, { 0, 0 }, { 0, 0 }, { 0.608085, 0.608085 } },
        }, zero, Tol);

        T.Close(T.Repeat(4, 0.07376196, 0.43645123),
            new SimpleRNN(4, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true).Apply(x, mask), Tol);
    }

    // ------------------------------------------------------------------ LSTM (lstm_test.py)

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void LstmCorrectness(int implementation)
    {
        // lstm_test.py test_correctness (parameterised over implementation 1 and 2): arange(72).reshape(3, 6, 4), units 3.
        var x = Seq(3, 6, 4);
        Layer Make(bool goBackwards = false, bool unroll = false, bool unitForgetBias = true, bool useBias = true) => implementation == 2
            ? new LSTM(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: goBackwards, unroll: unroll,
                unitForgetBias: unitForgetBias, useBias: useBias)
            : new RNN(new LSTMCell(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, unitForgetBias: unitForgetBias,
                useBias: useBias, implementation: 1), goBackwards: goBackwards, unroll: unroll);

        T.Close(T.Repeat(3, 0.6288687, 0.86899155, 0.9460773), Make().Apply(x), Tol);
        T.Close(T.Repeat(3, 0.35622165, 0.74789524, 0.8872726), Make(goBackwards: true).Apply(x), Tol);
        T.Close(T.Repeat(3, 0.6288687, 0.86899155, 0.9460773), Make(unroll: true).Apply(x), Tol);
        T.Close(T.Repeat(3, 0.57019705, 0.8661914, 0.9459622), Make(unitForgetBias: false).Apply(x), Tol);
        T.Close(T.Repeat(3, 0.54986924, 0.86226785, 0.9443936), Make(useBias: false).Apply(x), Tol);
    }

    [Fact]
    public void LstmStatefulness()
    {
        // lstm_test.py test_statefulness.
        var x = Seq(2, 3, 4);
        var layer = new LSTM(4, stateful: true, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B);
        var expected = T.Repeat(4, 0.3124785, 0.6863672);
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
        layer.ResetStates();
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
    }

    [Fact]
    public void LstmInitialState()
    {
        // lstm_test.py test_pass_initial_state: h0 = c0 = arange(4).reshape(2, 2).
        var x = Seq(2, 4, 3);
        Tensor[] s = [T.ToTensor(T.Arange(2, 2)), T.ToTensor(T.Arange(2, 2))];
        var layer = new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B);
        T.Close(T.M([0.20574439, 0.3558822], [0.64930826, 0.66276]), layer.ApplyAll([x], initialState: s)[0], Tol);
        var back = new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true);
        T.Close(T.M([0.13281618, 0.2790356], [0.5839337, 0.5992567]), back.ApplyAll([x], initialState: s)[0], Tol);
    }

    [Fact]
    public void LstmMasking()
    {
        // lstm_test.py test_masking: right-padded masks (the fused path may run packed) and a left-padded mask backwards.
        var x = Seq(2, 4, 3);
        var mask = KerasMask([true, true, true, false], [true, true, false, false]);
        T.Close(T.Repeat(2, 0.11755939, 0.28556206),
            new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, unroll: true).Apply(x, mask), Tol);
        T.Close(T.Repeat(2, 0.11755939, 0.28556206),
            new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B).Apply(x, mask), Tol);

        var seq = new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, returnSequences: true).Apply(x, mask);
        T.Close(new double[,,]
        {
            { { 0.01588910, 0.01588910 }, { 0.05552048, 0.05552048 }, { 0.11755939, 0.11755939 }, { 0.11755939, 0.11755939 } },
            { { 0.14185596, 0.14185596 }, { 0.28556206, 0.28556206 }, { 0.28556206, 0.28556206 }, { 0.28556206, 0.28556206 } },
        }, seq, Tol);

        var zero = new RNN(new LSTMCell(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B),
            returnSequences: true, zeroOutputForMask: true).Apply(x, mask);
        T.Close(new double[,,]
        {
            { { 0.01588910, 0.01588910 }, { 0.05552048, 0.05552048 }, { 0.11755939, 0.11755939 }, { 0, 0 } },
            { { 0.14185596, 0.14185596 }, { 0.28556206, 0.28556206 }, { 0, 0 }, { 0, 0 } },
        }, zero, Tol);

        var backwardsMask = KerasMask([false, true, true, true], [false, false, true, true]);
        T.Close(T.Repeat(2, 0.15341201, 0.3844719),
            new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true).Apply(x, backwardsMask), Tol);
    }

    // ------------------------------------------------------------------ GRU (gru_test.py)

    [Fact]
    public void GruCorrectness()
    {
        // gru_test.py test_correctness: arange(72).reshape(3, 6, 4), units 3; reset_after both ways, with and without bias.
        var x = Seq(3, 6, 4);
        var forward = T.M([0.5217289, 0.5217289, 0.5217289], [0.6371659, 0.6371659, 0.6371659], [0.39384964, 0.39384964, 0.3938496]);
        T.Close(forward, new GRU(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B).Apply(x), Tol);
        T.Close(forward, new GRU(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, unroll: true).Apply(x), Tol);
        T.Close(forward, new GRU(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, useCudnn: false).Apply(x), Tol);
        T.Close(T.Repeat(3, 0.24406259, 0.611516, 0.3928808),
            new GRU(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true).Apply(x), Tol);
        T.Close(T.Repeat(3, 0.51447755, 0.6426879, 0.40208298),
            new GRU(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, resetAfter: false).Apply(x), Tol);
        T.Close(T.Repeat(3, 0.49988455, 0.64701194, 0.4103359),
            new GRU(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, useBias: false).Apply(x), Tol);
        // gru_test.py runs test_correctness for implementation 1 too (same numbers): per-gate products in the cell.
        T.Close(forward, new RNN(new GRUCell(3, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, implementation: 1)).Apply(x), Tol);
    }

    [Fact]
    public void GruStatefulness()
    {
        // gru_test.py test_statefulness.
        var x = Seq(2, 3, 4);
        var layer = new GRU(4, stateful: true, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B);
        var expected = T.Repeat(4, 0.29542392, 0.5885018);
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
        layer.ResetStates();
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
    }

    [Fact]
    public void GruInitialAndReturnState()
    {
        // gru_test.py test_pass_initial_state and test_pass_return_state.
        var x = Seq(2, 4, 3);
        var s = T.ToTensor(T.Arange(2, 2));
        var forward = T.M([0.23774096, 0.33508456], [0.83659905, 1.0227708]);
        var backward = T.M([0.13486053, 0.23261218], [0.78257304, 0.9691353]);
        T.Close(forward, new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B).ApplyAll([x], initialState: [s])[0], Tol);
        T.Close(backward, new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true)
            .ApplyAll([x], initialState: [s])[0], Tol);

        var withState = new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, returnState: true).ApplyAll([x], initialState: [s]);
        Assert.Equal(2, withState.Count);
        T.Close(forward, withState[0], Tol);
        T.Close(forward, withState[1], Tol);
        var backState = new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, returnState: true, goBackwards: true)
            .ApplyAll([x], initialState: [s]);
        T.Close(backward, backState[0], Tol);
        T.Close(backward, backState[1], Tol);
    }

    [Fact]
    public void GruMasking()
    {
        // gru_test.py test_masking: masks with gaps.
        var x = Seq(2, 4, 3);
        var mask = KerasMask([true, true, false, true], [true, false, false, true]);
        T.Close(T.Repeat(2, 0.19393763, 0.30818558),
            new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, unroll: true).Apply(x, mask), Tol);
        T.Close(T.Repeat(2, 0.19393763, 0.30818558),
            new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B).Apply(x, mask), Tol);
        var seq = new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, returnSequences: true).Apply(x, mask);
        T.Close(new double[,,]
        {
            { { 0.03606692, 0.03606692 }, { 0.09497581, 0.09497581 }, { 0.09497581, 0.09497581 }, { 0.19393763, 0.19393763 } },
            { { 0.16051409, 0.16051409 }, { 0.16051409, 0.16051409 }, { 0.16051409, 0.16051409 }, { 0.30818558, 0.30818558 } },
        }, seq, Tol);
        var zero = new RNN(new GRUCell(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B),
            returnSequences: true, zeroOutputForMask: true).Apply(x, mask);
        T.Close(new double[,,]
        {
            { { 0.03606692, 0.03606692 }, { 0.09497581, 0.09497581 }, { 0, 0 }, { 0.19393763, 0.19393763 } },
            { { 0.16051409, 0.16051409 }, { 0, 0 }, { 0, 0 }, { 0.30818558, 0.30818558 } },
        }, zero, Tol);
        T.Close(T.Repeat(2, 0.11669192, 0.28380975),
            new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, goBackwards: true).Apply(x, mask), Tol);
    }

    // ------------------------------------------------------------------ Bidirectional (bidirectional_test.py)

    [Fact]
    public void BidirectionalCorrectness()
    {
        // bidirectional_test.py test_correctness.
        var x = Seq(2, 3, 4);
        SimpleRNN Forward() => new(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B);
        T.Close(T.M([0.39687276, 0.39687276, 0.10004295, 0.10004295], [0.7237238, 0.7237238, 0.53391594, 0.53391594]),
            new Bidirectional(Forward()).Apply(x), Tol);
        T.Close(T.M([0.24845785, 0.24845785], [0.6288199, 0.6288199]), new Bidirectional(Forward(), mergeMode: "ave").Apply(x), Tol);
        var both = new Bidirectional(Forward(), mergeMode: null).ApplyAll([x]);
        Assert.Equal(2, both.Count);
        T.Close(T.M([0.39687276, 0.39687276], [0.7237238, 0.7237238]), both[0], Tol);
        T.Close(T.M([0.10004295, 0.10004295], [0.53391594, 0.53391594]), both[1], Tol);

        var backwardLayer = new SimpleRNN(2, kernelInitializer: new Constant(0.03), recurrentInitializer: R,
            biasInitializer: new Constant(0.01), goBackwards: true);
        T.Close(T.M([0.08374989, 0.08374989], [0.6740834, 0.6740834]),
            new Bidirectional(Forward(), mergeMode: "mul", backwardLayer: backwardLayer).Apply(x), Tol);

        var gru = new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, returnSequences: true);
        T.Close(new double[,,]
        {
            { { 0.20937867, 0.20937867 }, { 0.34462988, 0.34462988 }, { 0.40290534, 0.40290534 } },
            { { 0.59829646, 0.59829646 }, { 0.6734641, 0.6734641 }, { 0.6479671, 0.6479671 } },
        }, new Bidirectional(gru, mergeMode: "sum").Apply(x), Tol);
    }

    [Fact]
    public void BidirectionalStatefulness()
    {
        // bidirectional_test.py test_statefulness.
        var x = Seq(2, 4, 3);
        var layer = new Bidirectional(new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, stateful: true));
        var expected = T.M([0.26234663, 0.26234663, 0.16959146, 0.16959146], [0.6137073, 0.6137073, 0.5381646, 0.5381646]);
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
        layer.ResetStates();
        layer.Apply(x);
        T.Close(expected, layer.Apply(x), Tol);
    }

    [Fact]
    public void BidirectionalInitialState()
    {
        // bidirectional_test.py test_pass_initial_state: [h_f, c_f, h_b, c_b] = arange(4).reshape(2, 2) · (1, 2, 3, 4).
        var x = Seq(2, 4, 3);
        var states = Enumerable.Range(1, 4).Select(k => T.ToTensor(T.Arange(2, 2)).mul(k)).ToArray();
        var layer = new Bidirectional(new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B));
        T.Close(T.M([0.20794602, 0.4577124, 0.14046375, 0.48191673], [0.6682636, 0.6711909, 0.60943645, 0.60950446]),
            layer.ApplyAll([x], initialState: states)[0], Tol);
    }

    [Fact]
    public void BidirectionalMasking()
    {
        // bidirectional_test.py test_masking: GRU, mask with gaps, last output only.
        var x = Seq(2, 4, 3);
        var mask = KerasMask([true, true, false, true], [true, false, false, true]);
        var layer = new Bidirectional(new GRU(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B));
        T.Close(T.M([0.19393763, 0.19393763, 0.11669192, 0.11669192], [0.30818558, 0.30818558, 0.28380975, 0.28380975]),
            layer.Apply(x, mask), Tol);
    }

    [Fact]
    public void BidirectionalReturnState()
    {
        // bidirectional_test.py test_return_state: output, h_forward, c_forward, h_backward, c_backward.
        var x = Seq(2, 4, 3);
        var layer = new Bidirectional(new LSTM(2, kernelInitializer: K, recurrentInitializer: R, biasInitializer: B, returnState: true));
        var r = layer.ApplyAll([x]);
        Assert.Equal(5, r.Count);
        T.Close(T.M([0.1990008, 0.1990008, 0.12659755, 0.12659755], [0.52335435, 0.52335435, 0.44717982, 0.44717982]), r[0], Tol);
        T.Close(T.Repeat(2, 0.1990008, 0.52335435), r[1], Tol);
        T.Close(T.Repeat(2, 0.35567185, 1.0492687), r[2], Tol);
        T.Close(T.Repeat(2, 0.12659755, 0.44717982), r[3], Tol);
        T.Close(T.Repeat(2, 0.2501858, 0.941473), r[4], Tol);
    }

    // ------------------------------------------------------------------ Stacked cells, TimeDistributed

    [Fact]
    public void StackedLstmCellsWithMask()
    {
        // stacked_rnn_cells_test.py test_stacked_lstm_cell_mask: two LSTMCell(1) with "ones" kernels, ones input,
        // mask [[T, T, T], [T, T, F]]; Keras asserts atol=1e-4 against 4-digit values.
        var x = torch.ones(2, 3, 4);
        var mask = KerasMask([true, true, true], [true, true, false]);
        var layer = new RNN([new LSTMCell(1, kernelInitializer: "ones", recurrentInitializer: "ones"),
            new LSTMCell(1, kernelInitializer: "ones", recurrentInitializer: "ones")]);
        T.Close(T.M([0.7793], [0.5998]), layer.Apply(x, mask), 1e-4);
    }

    [Fact]
    public void TimeDistributedDense()
    {
        // time_distributed_test.py test_correctness: Dense(1, kernel 0.01, no bias) over arange(24).reshape(3, 2, 4).
        var x = Seq(3, 2, 4);
        var layer = new TimeDistributed(new Dense(1, kernelInitializer: K, useBias: false));
        T.Close(new double[,,] { { { 0.06 }, { 0.22 } }, { { 0.38 }, { 0.53999996 } }, { { 0.7 }, { 0.86 } } }, layer.Apply(x), Tol);
    }
}
