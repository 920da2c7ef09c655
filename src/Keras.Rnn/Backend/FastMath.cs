using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Keras.Rnn.Backend;

/// <summary>
/// Vectorised single-precision <c>exp</c>, <c>sigmoid</c> and <c>tanh</c> for the fused recurrent steps
/// (<see cref="FusedCells"/>), accurate to a few units in the last place over the whole float range.
/// </summary>
/// <remarks>
/// <c>exp</c> is the classic Cody–Waite range reduction <c>x = n·ln 2 + r</c> (ln 2 split in two parts) with a
/// degree-6 minimax polynomial for <c>e^r</c> on <c>|r| ≤ ln2/2</c> and <c>2^n</c> built in the exponent bits (the
/// Cephes <c>expf</c> scheme; relative error below 2e-7). <c>sigmoid(x) = 1 / (1 + e^−x)</c>. <c>tanh</c> uses an odd
/// polynomial for <c>|x| &lt; 0.625</c> (Cephes <c>tanhf</c>; relative error below 2e-7) and
/// <c>sign(x)·(1 − 2 / (e^{2|x|} + 1))</c> above, which rounds to ±1 beyond <c>|x| ≈ 9.01</c>. NaN propagates.
/// </remarks>
internal static unsafe class FastMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;
    // exp of larger arguments overflows, of smaller ones leaves the normal range.
    private const float ExpMax = 88.3762626647949f;
    private const float ExpMin = -87.3365447504f;

    /// <summary><c>e^x</c> per lane (saturating at the ends of the normal float range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        // MinNative/MaxNative/ConvertToInt32Native are single instructions (the IEEE forms add NaN and ±0 handling); on
        // x86 they return their second operand when either is NaN, so x goes second: NaN stays NaN.
        x = Vector256.MinNative(Vector256.Create(ExpMax), Vector256.MaxNative(Vector256.Create(ExpMin), x));
        var n = Vector256.Floor(Mad(x, Vector256.Create(Log2E), Vector256.Create(0.5f)));
        var r = Mad(n, Vector256.Create(-Ln2High), x);
        r = Mad(n, Vector256.Create(-Ln2Low), r);
        var p = Mad(Vector256.Create(1.9875691500e-4f), r, Vector256.Create(1.3981999507e-3f));
        p = Mad(p, r, Vector256.Create(8.3334519073e-3f));
        p = Mad(p, r, Vector256.Create(4.1665795894e-2f));
        p = Mad(p, r, Vector256.Create(1.6666665459e-1f));
        p = Mad(p, r, Vector256.Create(5.0000001201e-1f));
        var y = Mad(p, r * r, r + Vector256<float>.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        return y * scale;
    }

    /// <summary><c>1 / (1 + e^−x)</c> per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    /// <summary><c>tanh(x)</c> per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var a = Vector256.Abs(x);
        // |x| ≥ 0.625: 1 − 2 / (e^{2|x|} + 1), with x's sign (exp saturates, so this reaches exactly 1 above |x| ≈ 9.01).
        var large = Vector256<float>.One - Vector256.Create(2f) / (Exp(a + a) + Vector256<float>.One);
        large = Vector256.ConditionalSelect(Vector256.Create(-0f), x, large);
        // |x| < 0.625: x + x·z·P(z), z = x².
        var z = x * x;
        var p = Mad(Vector256.Create(-5.70498872745e-3f), z, Vector256.Create(2.06390887954e-2f));
        p = Mad(p, z, Vector256.Create(-5.37397155531e-2f));
        p = Mad(p, z, Vector256.Create(1.33314422036e-1f));
        p = Mad(p, z, Vector256.Create(-3.33332819422e-1f));
        var small = Mad(p * z, x, x);
        return Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(0.625f)), small, large);
    }

    /// <summary><c>a·b + c</c>, one fused instruction where the CPU has FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Mad(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);

    /// <summary>Scalar <c>1 / (1 + e^−x)</c>.</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Writes <c>tanh</c> of <paramref name="n"/> floats from <paramref name="source"/> to <paramref name="destination"/> (may be the same).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tanh(float* source, float* destination, int n)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
                Tanh(Vector256.Load(source + j)).Store(destination + j);
            if (j < n)
            {
                // The last partial block through a padded copy (cheaper than scalar tanh, and the same function).
                float* block = stackalloc float[Vector256<float>.Count];
                new Span<float>(block, Vector256<float>.Count).Clear();
                new ReadOnlySpan<float>(source + j, n - j).CopyTo(new Span<float>(block, n - j));
                Tanh(Vector256.Load(block)).Store(block);
                new ReadOnlySpan<float>(block, n - j).CopyTo(new Span<float>(destination + j, n - j));
                return;
            }
        }
        for (; j < n; j++) destination[j] = MathF.Tanh(source[j]);
    }
}
