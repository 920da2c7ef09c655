using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Layers.Rnn;

/// <summary>Which recurrent equations the double-precision reference evaluates.</summary>
public enum CellKind
{
    SimpleRnn,
    Lstm,
    GruResetAfter,
    GruResetBefore,
}

/// <summary>Weights in Keras' layout, in double precision (values exactly representable in float32).</summary>
/// <param name="Kernel">(input_dim, gates·units).</param>
/// <param name="Recurrent">(units, gates·units).</param>
/// <param name="Bias">(gates·units,) or, for GRU reset_after, (2, 3·units); null without bias.</param>
internal sealed record RefWeights(double[,] Kernel, double[,] Recurrent, Array? Bias)
{
    /// <summary>The arrays in Keras' weight order, for <c>SetWeights</c>.</summary>
    public Array[] ToKerasList() => Bias is null ? [Kernel, Recurrent] : [Kernel, Recurrent, Bias];
}

/// <summary>
/// An independent implementation of Keras' recurrent layers in double precision with plain loops, written from the
/// equations in keras-semantics.md (never from our library): cells, the time loop with Keras' masking rules
/// (states held, output repeated or zero at masked steps, zeros before the first real step), go_backwards
/// (outputs in processing order) and initial states.
/// </summary>
internal static class RnnReference
{
    public static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    public static int Gates(CellKind kind) => kind switch
    {
        CellKind.SimpleRnn => 1,
        CellKind.Lstm => 4,
        _ => 3,
    };

    public static int StateCount(CellKind kind) => kind == CellKind.Lstm ? 2 : 1;

    /// <summary>Random weights (uniform in ±scale, rounded to float32) for a cell.</summary>
    public static RefWeights RandomWeights(Random rng, CellKind kind, int inputDim, int units, bool useBias = true, double scale = 0.6)
    {
        int g = Gates(kind);
        var kernel = T.Rand(rng, inputDim, g * units, scale);
        var recurrent = T.Rand(rng, units, g * units, scale);
        Array? bias = null;
        if (useBias)
            bias = kind == CellKind.GruResetAfter ? T.Rand(rng, 2, g * units, scale) : T.Rand(rng, g * units, scale);
        return new RefWeights(kernel, recurrent, bias);
    }

    private static double B1(Array? bias, int j) => bias is null ? 0.0 : ((double[])bias)[j];

    /// <summary>One step for one batch row; with <paramref name="recurrentMasks"/> (one per gate block, Keras'
    /// implementation 1 under recurrent dropout), gate block g multiplies the previous state by mask g before its product.</summary>
    public static (double[] Output, double[][] States) Step(CellKind kind, RefWeights w, double[] x, double[][] states,
        Func<double, double>? activation = null, Func<double, double>? recurrentActivation = null, double[][]? recurrentMasks = null)
    {
        var act = activation ?? Math.Tanh;
        var rec = recurrentActivation ?? Sigmoid;
        int units = w.Recurrent.GetLength(0);
        int f = x.Length;
        int g = Gates(kind);
        // Input projection x·W (without bias) and recurrent projection h·U for every column.
        var h = states[0];
        var xw = new double[g * units];
        var hu = new double[g * units];
        for (int j = 0; j < g * units; j++)
        {
            double a = 0, b = 0;
            for (int k = 0; k < f; k++) a += x[k] * w.Kernel[k, j];
            for (int k = 0; k < units; k++) b += h[k] * (recurrentMasks is null ? 1.0 : recurrentMasks[j / units][k]) * w.Recurrent[k, j];
            xw[j] = a;
            hu[j] = b;
        }
        switch (kind)
        {
            case CellKind.SimpleRnn:
            {
                var o = new double[units];
                for (int j = 0; j < units; j++) o[j] = act(xw[j] + B1(w.Bias, j) + hu[j]);
                return (o, [o]);
            }
            case CellKind.Lstm:
            {
                var c = states[1];
                var newH = new double[units];
                var newC = new double[units];
                for (int j = 0; j < units; j++)
                {
                    double z(int gate) => xw[gate * units + j] + hu[gate * units + j] + B1(w.Bias, gate * units + j);
                    double i = rec(z(0)), fg = rec(z(1)), cand = act(z(2)), o = rec(z(3));
                    newC[j] = fg * c[j] + i * cand;
                    newH[j] = o * act(newC[j]);
                }
                return (newH, [newH, newC]);
            }
            case CellKind.GruResetAfter:
            {
                var bias = (double[,]?)w.Bias;
                double b0(int j) => bias is null ? 0 : bias[0, j];
                double b1(int j) => bias is null ? 0 : bias[1, j];
                var newH = new double[units];
                for (int j = 0; j < units; j++)
                {
                    double z = rec(xw[j] + b0(j) + hu[j] + b1(j));
                    double r = rec(xw[units + j] + b0(units + j) + hu[units + j] + b1(units + j));
                    double hh = act(xw[2 * units + j] + b0(2 * units + j) + r * (hu[2 * units + j] + b1(2 * units + j)));
                    newH[j] = z * h[j] + (1 - z) * hh;
                }
                return (newH, [newH]);
            }
            case CellKind.GruResetBefore:
            {
                var z = new double[units];
                var r = new double[units];
                for (int j = 0; j < units; j++)
                {
                    z[j] = rec(xw[j] + B1(w.Bias, j) + hu[j]);
                    r[j] = rec(xw[units + j] + B1(w.Bias, units + j) + hu[units + j]);
                }
                var newH = new double[units];
                for (int j = 0; j < units; j++)
                {
                    double rh = 0;
                    for (int k = 0; k < units; k++)
                        rh += r[k] * h[k] * (recurrentMasks is null ? 1.0 : recurrentMasks[2][k]) * w.Recurrent[k, 2 * units + j];
                    double hh = act(xw[2 * units + j] + B1(w.Bias, 2 * units + j) + rh);
                    newH[j] = z[j] * h[j] + (1 - z[j]) * hh;
                }
                return (newH, [newH]);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>
    /// Runs the cell over <paramref name="x"/> (batch, time, features). Outputs are in processing order
    /// (reversed time when <paramref name="goBackwards"/>), as Keras returns them.
    /// </summary>
    public static (double[,,] Outputs, double[][,] States) Run(CellKind kind, RefWeights w, double[,,] x, bool[,]? mask = null,
        bool goBackwards = false, double[][,]? initialStates = null, bool zeroOutputForMask = false,
        Func<double, double>? activation = null, Func<double, double>? recurrentActivation = null, double[][,]? recurrentMasks = null)
    {
        int batch = x.GetLength(0), steps = x.GetLength(1), f = x.GetLength(2);
        int units = w.Recurrent.GetLength(0);
        int ns = StateCount(kind);
        var outputs = new double[batch, steps, units];
        var finalStates = Enumerable.Range(0, ns).Select(_ => new double[batch, units]).ToArray();
        for (int b = 0; b < batch; b++)
        {
            var states = new double[ns][];
            for (int s = 0; s < ns; s++)
            {
                states[s] = new double[units];
                if (initialStates is not null)
                    for (int j = 0; j < units; j++) states[s][j] = initialStates[s][b, j];
            }
            var previous = new double[units];
            var rowMasks = recurrentMasks?.Select(m => Enumerable.Range(0, units).Select(j => m[b, j]).ToArray()).ToArray();
            for (int i = 0; i < steps; i++)
            {
                int t = goBackwards ? steps - 1 - i : i;
                var xt = new double[f];
                for (int k = 0; k < f; k++) xt[k] = x[b, t, k];
                var (o, newStates) = Step(kind, w, xt, states, activation, recurrentActivation, rowMasks);
                if (mask is not null && !mask[b, t])
                {
                    o = zeroOutputForMask ? new double[units] : previous;
                    newStates = states;
                }
                for (int j = 0; j < units; j++) outputs[b, i, j] = o[j];
                previous = o;
                states = newStates;
            }
            for (int s = 0; s < ns; s++)
                for (int j = 0; j < units; j++) finalStates[s][b, j] = states[s][j];
        }
        return (outputs, finalStates);
    }

    /// <summary>
    /// The recurrent dropout masks a cell draws first after <c>torch.manual_seed(seed)</c>: <paramref name="gates"/>
    /// times dropout of ones <c>(batch, units)</c> at <paramref name="rate"/>, in gate order (0 or 1/(1 − rate)).
    /// </summary>
    public static double[][,] DrawRecurrentMasks(long seed, int gates, int batch, int units, double rate)
    {
        torch.manual_seed(seed);
        var masks = new double[gates][,];
        for (int g = 0; g < gates; g++)
        {
            masks[g] = new double[batch, units];
            T.Values(torch.nn.functional.dropout(torch.ones(batch, units), rate, training: true)).CopyTo(T.Flat(masks[g]));
        }
        return masks;
    }

    /// <summary>
    /// The loss the gradient tests differentiate: <c>Σ outputs·rOut + Σ_s states_s·rStates_s</c> of a <see cref="Run"/> result.
    /// </summary>
    public static double WeightedSum((double[,,] Outputs, double[][,] States) run, double[,,] rOut, double[][,] rStates)
    {
        double l = 0;
        var (seq, states) = run;
        for (int b = 0; b < seq.GetLength(0); b++)
            for (int t = 0; t < seq.GetLength(1); t++)
                for (int u = 0; u < seq.GetLength(2); u++) l += seq[b, t, u] * rOut[b, t, u];
        for (int s = 0; s < states.Length; s++)
            for (int b = 0; b < states[s].GetLength(0); b++)
                for (int u = 0; u < states[s].GetLength(1); u++) l += states[s][b, u] * rStates[s][b, u];
        return l;
    }

    /// <summary>Central finite differences (step 1e-6) of <paramref name="loss"/> with respect to every entry of
    /// <paramref name="a"/>, which is perturbed in place and restored.</summary>
    public static double[] FiniteDifferences(Array a, Func<double> loss)
    {
        var g = new double[a.Length];
        const double h = 1e-6;
        for (int i = 0; i < g.Length; i++)
        {
            double keep = T.Flat(a)[i];
            T.Flat(a)[i] = keep + h;
            double up = loss();
            T.Flat(a)[i] = keep - h;
            double down = loss();
            T.Flat(a)[i] = keep;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    /// <summary>The last output (batch, units) of a <see cref="Run"/> result.</summary>
    public static double[,] Last(double[,,] outputs)
    {
        int b = outputs.GetLength(0), t = outputs.GetLength(1), u = outputs.GetLength(2);
        var r = new double[b, u];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < u; j++) r[i, j] = outputs[i, t - 1, j];
        return r;
    }

    /// <summary>Reverses the time axis (to put processing-order outputs back in input order).</summary>
    public static double[,,] ReverseTime(double[,,] a)
    {
        int b = a.GetLength(0), t = a.GetLength(1), u = a.GetLength(2);
        var r = new double[b, t, u];
        for (int i = 0; i < b; i++)
            for (int s = 0; s < t; s++)
                for (int j = 0; j < u; j++) r[i, s, j] = a[i, t - 1 - s, j];
        return r;
    }
}

/// <summary>Small helpers shared by the recurrent-layer tests: random data, tensor ↔ array, assertions.</summary>
internal static class T
{
    /// <summary>A flat view of any rectangular double array (row-major, as torch stores tensors).</summary>
    public static Span<double> Flat(Array a) =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(a)), a.Length);

    private static double R(Random rng, double scale) => (float)((rng.NextDouble() * 2 - 1) * scale);

    public static double[] Rand(Random rng, int n, double scale = 1.0)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = R(rng, scale);
        return a;
    }

    public static double[,] Rand(Random rng, int r, int c, double scale = 1.0)
    {
        var a = new double[r, c];
        var f = Flat(a);
        for (int i = 0; i < f.Length; i++) f[i] = R(rng, scale);
        return a;
    }

    public static double[,,] Rand(Random rng, int b, int t, int f, double scale = 1.0)
    {
        var a = new double[b, t, f];
        var s = Flat(a);
        for (int i = 0; i < s.Length; i++) s[i] = R(rng, scale);
        return a;
    }

    /// <summary>A float32 tensor with the array's shape and values.</summary>
    public static Tensor ToTensor(Array a)
    {
        var src = Flat(a);
        var data = new float[src.Length];
        for (int i = 0; i < data.Length; i++) data[i] = (float)src[i];
        var shape = Enumerable.Range(0, a.Rank).Select(i => (long)a.GetLength(i)).ToArray();
        return torch.tensor(data, shape);
    }

    /// <summary>A boolean (batch, time) tensor.</summary>
    public static Tensor Mask(bool[,] m)
    {
        var data = new bool[m.Length];
        int k = 0;
        foreach (var v in m) data[k++] = v;
        return torch.tensor(data, [m.GetLength(0), m.GetLength(1)]);
    }

    /// <summary>The tensor's values in double, row-major.</summary>
    public static double[] Values(Tensor t)
    {
        using var d = t.detach().cpu().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }

    public static long[] ShapeOf(Array a) => Enumerable.Range(0, a.Rank).Select(i => (long)a.GetLength(i)).ToArray();

    /// <summary>Asserts same shape and |expected − actual| ≤ atol + rtol·|expected| elementwise.</summary>
    public static void Close(Array expected, Tensor actual, double atol = 1e-5, double rtol = 0, string what = "value")
    {
        Assert.Equal(ShapeOf(expected), actual.shape);
        Close(Flat(expected).ToArray(), Values(actual), atol, rtol, what);
    }

    public static void Close(double[] expected, double[] actual, double atol = 1e-5, double rtol = 0, string what = "value")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = atol + rtol * Math.Abs(expected[i]);
            if (!(Math.Abs(expected[i] - actual[i]) <= tol))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|diff| {Math.Abs(expected[i] - actual[i]):E3} > tol {tol:E3}).");
        }
    }

    /// <summary>Asserts two tensors have the same shape and values within atol.</summary>
    public static void Same(Tensor expected, Tensor actual, double atol = 1e-5, string what = "value")
    {
        Assert.Equal(expected.shape, actual.shape);
        Close(Values(expected), Values(actual), atol, 0, what);
    }

    /// <summary>np.arange(n).reshape(shape) as float32 data (Keras' test fixtures).</summary>
    public static double[,,] Arange(int b, int t, int f)
    {
        var a = new double[b, t, f];
        var s = Flat(a);
        for (int i = 0; i < s.Length; i++) s[i] = i;
        return a;
    }

    public static double[,] Arange(int r, int c)
    {
        var a = new double[r, c];
        var s = Flat(a);
        for (int i = 0; i < s.Length; i++) s[i] = i;
        return a;
    }

    /// <summary>A (rows, cols) array with every row equal to <paramref name="row"/>.</summary>
    public static double[,] Rows(int rows, params double[] row)
    {
        var a = new double[rows, row.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < row.Length; j++) a[i, j] = row[j];
        return a;
    }

    /// <summary>A (rows, cols) array from explicit rows.</summary>
    public static double[,] M(params double[][] rows)
    {
        var a = new double[rows.Length, rows[0].Length];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[0].Length; j++) a[i, j] = rows[i][j];
        return a;
    }

    /// <summary>Each entry value repeated <paramref name="units"/> times per row: Keras' constant-initialiser outputs.</summary>
    public static double[,] Repeat(int units, params double[] perRow)
    {
        var a = new double[perRow.Length, units];
        for (int i = 0; i < perRow.Length; i++)
            for (int j = 0; j < units; j++) a[i, j] = perRow[i];
        return a;
    }
}
