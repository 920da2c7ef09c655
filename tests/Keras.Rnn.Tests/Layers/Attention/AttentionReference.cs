namespace Keras.Rnn.Tests.Layers.AttentionLayers;

/// <summary>
/// An independent double-precision implementation of the attention layers with plain loops, written from the formulas
/// in Keras' documentation and the papers (Luong et al. 2015, Bahdanau et al. 2015, Vaswani et al. 2017), never from
/// our library. Masked positions get probability exactly 0 (what Keras' float32 <c>score − 1e9</c> or <c>−1e9</c> fill
/// amounts to); what a row with no allowed position gets is a parameter (Keras' layers differ there).
/// </summary>
internal static class AttentionReference
{
    /// <summary>Softmax over the allowed positions; <paramref name="whenNoneAllowed"/> when no position is allowed.</summary>
    public static double[] MaskedSoftmax(double[] scores, bool[] allowed, Func<int, double[]> whenNoneAllowed)
    {
        int n = scores.Length;
        if (!allowed.Any(a => a)) return whenNoneAllowed(n);
        double max = double.NegativeInfinity;
        for (int j = 0; j < n; j++) if (allowed[j]) max = Math.Max(max, scores[j]);
        var p = new double[n];
        double sum = 0;
        for (int j = 0; j < n; j++)
        {
            p[j] = allowed[j] ? Math.Exp(scores[j] - max) : 0.0;
            sum += p[j];
        }
        for (int j = 0; j < n; j++) p[j] /= sum;
        return p;
    }

    public static double[] Uniform(int n) => Enumerable.Repeat(1.0 / n, n).ToArray();

    public static double[] Zeros(int n) => new double[n];

    private static double[] Row(double[,,] a, int b, int t)
    {
        var r = new double[a.GetLength(2)];
        for (int d = 0; d < r.Length; d++) r[d] = a[b, t, d];
        return r;
    }

    /// <summary>Luong dot score <c>scale · q·k</c>.</summary>
    public static Func<double[], double[], double> Dot(double scale = 1.0) =>
        (q, k) => scale * q.Zip(k, (a, b) => a * b).Sum();

    /// <summary>Keras' concat score <c>weight · Σ tanh(scale · (q + k))</c>.</summary>
    public static Func<double[], double[], double> Concat(double scale = 1.0, double weight = 1.0) =>
        (q, k) => weight * q.Zip(k, (a, b) => Math.Tanh(scale * (a + b))).Sum();

    /// <summary>Bahdanau score <c>Σ_d scale_d · tanh(q_d + k_d)</c>.</summary>
    public static Func<double[], double[], double> Additive(double[]? scale) =>
        (q, k) => Enumerable.Range(0, q.Length).Sum(d => (scale?[d] ?? 1.0) * Math.Tanh(q[d] + k[d]));

    /// <summary>
    /// Keras' <c>Attention</c>/<c>AdditiveAttention</c>: output (B, Tq, Dv) and attention distribution (B, Tq, Tv). A row
    /// with every value position masked is uniform (Keras subtracts 1e9 from every score of the row in float32, which
    /// erases their differences).
    /// </summary>
    public static (double[,,] Output, double[,,] Weights) DenseAttention(double[,,] query, double[,,] value, double[,,]? key,
        Func<double[], double[], double> score, bool[,]? queryMask = null, bool[,]? valueMask = null, bool causal = false)
    {
        key ??= value;
        int batch = query.GetLength(0), tq = query.GetLength(1), tv = value.GetLength(1), dv = value.GetLength(2);
        var output = new double[batch, tq, dv];
        var weights = new double[batch, tq, tv];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < tq; i++)
            {
                var q = Row(query, b, i);
                var s = new double[tv];
                var allowed = new bool[tv];
                for (int j = 0; j < tv; j++)
                {
                    s[j] = score(q, Row(key, b, j));
                    allowed[j] = (valueMask is null || valueMask[b, j]) && (!causal || j <= i);
                }
                var p = MaskedSoftmax(s, allowed, Uniform);
                bool keep = queryMask is null || queryMask[b, i];
                for (int j = 0; j < tv; j++)
                {
                    weights[b, i, j] = p[j];
                    if (!keep) continue;
                    for (int d = 0; d < dv; d++) output[b, i, d] += p[j] * value[b, j, d];
                }
            }
        return (output, weights);
    }

    /// <summary>Weights of a multi-head attention layer in Keras' layout.</summary>
    public sealed record MhaWeights(double[,,] Wq, double[,]? Bq, double[,,] Wk, double[,]? Bk, double[,,] Wv, double[,]? Bv,
        double[,,] Wo, double[]? Bo, double[,,]? Wg = null, double[,]? Bg = null)
    {
        /// <summary>The arrays in Keras' weight order (query, key, [gate,] value, output; kernel then bias).</summary>
        public Array[] ToKerasList()
        {
            var list = new List<Array> { Wq };
            if (Bq is not null) list.Add(Bq);
            list.Add(Wk);
            if (Bk is not null) list.Add(Bk);
            if (Wg is not null)
            {
                list.Add(Wg);
                if (Bg is not null) list.Add(Bg);
            }
            list.Add(Wv);
            if (Bv is not null) list.Add(Bv);
            list.Add(Wo);
            if (Bo is not null) list.Add(Bo);
            return list.ToArray();
        }
    }

    private static double[,,,] Project(double[,,] x, double[,,] w, double[,]? bias)
    {
        int batch = x.GetLength(0), t = x.GetLength(1), dim = x.GetLength(2), heads = w.GetLength(1), size = w.GetLength(2);
        var y = new double[batch, t, heads, size];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < t; i++)
                for (int n = 0; n < heads; n++)
                    for (int h = 0; h < size; h++)
                    {
                        double z = bias?[n, h] ?? 0.0;
                        for (int d = 0; d < dim; d++) z += x[b, i, d] * w[d, n, h];
                        y[b, i, n, h] = z;
                    }
        return y;
    }

    /// <summary>
    /// Keras' <c>MultiHeadAttention</c> on rank-3 inputs: output (B, T, E) and scores (B, N, T, S). <paramref name="allowed"/>
    /// says whether query position t may attend to key position s (all masks combined); a row with nothing allowed gets
    /// all-zero attention (Keras' masked softmax).
    /// </summary>
    public static (double[,,] Output, double[,,,] Scores) MultiHead(double[,,] query, double[,,] value, double[,,]? key, MhaWeights w,
        Func<int, int, int, bool>? allowed = null)
    {
        key ??= value;
        int batch = query.GetLength(0), tq = query.GetLength(1), ts = value.GetLength(1);
        int heads = w.Wq.GetLength(1), keyDim = w.Wq.GetLength(2), valueDim = w.Wv.GetLength(2), outDim = w.Wo.GetLength(2);
        var q = Project(query, w.Wq, w.Bq);
        var k = Project(key, w.Wk, w.Bk);
        var v = Project(value, w.Wv, w.Bv);
        var gate = w.Wg is null ? null : Project(query, w.Wg, w.Bg);
        var scores = new double[batch, heads, tq, ts];
        var output = new double[batch, tq, outDim];
        for (int b = 0; b < batch; b++)
        {
            var heads_ = new double[tq, heads, valueDim];
            for (int n = 0; n < heads; n++)
                for (int t = 0; t < tq; t++)
                {
                    var s = new double[ts];
                    var ok = new bool[ts];
                    for (int j = 0; j < ts; j++)
                    {
                        double dot = 0;
                        for (int h = 0; h < keyDim; h++) dot += q[b, t, n, h] * k[b, j, n, h];
                        s[j] = dot / Math.Sqrt(keyDim);
                        ok[j] = allowed?.Invoke(b, t, j) ?? true;
                    }
                    var p = MaskedSoftmax(s, ok, Zeros);
                    for (int j = 0; j < ts; j++)
                    {
                        scores[b, n, t, j] = p[j];
                        for (int h = 0; h < valueDim; h++) heads_[t, n, h] += p[j] * v[b, j, n, h];
                    }
                    if (gate is not null)
                        for (int h = 0; h < valueDim; h++) heads_[t, n, h] *= 1.0 / (1.0 + Math.Exp(-gate[b, t, n, h]));
                }
            for (int t = 0; t < tq; t++)
                for (int e = 0; e < outDim; e++)
                {
                    double z = w.Bo?[e] ?? 0.0;
                    for (int n = 0; n < heads; n++)
                        for (int h = 0; h < valueDim; h++) z += heads_[t, n, h] * w.Wo[n, h, e];
                    output[b, t, e] = z;
                }
        }
        return (output, scores);
    }
}
