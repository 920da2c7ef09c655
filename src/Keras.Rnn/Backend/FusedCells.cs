using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>
/// The element-wise part of one recurrent step, fused into a single pass over CPU float32 memory (the step's matrix
/// product stays with libtorch, except for small layers: <see cref="AddProduct"/>). Where libtorch needs about ten operations per LSTM step (each a call from .NET, a
/// pass over memory, and for <c>tanh</c> a scalar loop), these functions read each row once and keep a step's gates in
/// SIMD registers, with vectorised <c>sigmoid</c>/<c>tanh</c> from <see cref="FastMath"/>.
/// </summary>
/// <remarks>
/// <para>All pointers address contiguous row-major float32 blocks of <c>batch</c> rows; <c>keep</c> (or <c>null</c>) holds
/// one 0/1 flag per row — a row with 0 keeps its states (Keras' mask semantics) and gets no gate gradient.</para>
/// <para>Results equal the libtorch path to fp32 rounding (different <c>exp</c>/<c>tanh</c> implementations and
/// fused multiply-adds); the kernel tests compare the fused path with the layers' step loop, and with the unfused
/// kernel path (<see cref="Enabled"/> switched off).</para>
/// </remarks>
internal static unsafe class FusedCells
{
    /// <summary>Whether the kernels use the fused steps where they apply (default <c>true</c>; tests switch it to compare paths).</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// Whether the fused steps apply to a kernel call whose largest buffer is <paramref name="largest"/>: CPU float32,
    /// and every buffer addressable as one span (under 2 GiB).
    /// </summary>
    internal static bool AppliesTo(Tensor largest) =>
        Enabled && largest.device_type == DeviceType.CPU && largest.dtype == ScalarType.Float32 && largest.numel() * sizeof(float) < int.MaxValue;

    /// <summary>The address of the first element of a contiguous CPU float32 tensor (valid while the tensor lives).</summary>
    /// <exception cref="ArgumentException">The tensor is not contiguous.</exception>
    internal static float* Pointer(Tensor t)
    {
        if (!t.is_contiguous()) throw new ArgumentException($"FusedCells: expected a contiguous tensor, got strides [{string.Join(", ", t.stride())}].", nameof(t));
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));
    }

    /// <summary>The address of <paramref name="t"/>'s data, or <c>null</c> for a missing tensor.</summary>
    internal static float* PointerOrNull(Tensor? t) => RecurrentKernels.Has(t) ? Pointer(t!) : null;

    private static bool Dropped(float* keep, int row) => keep is not null && keep[row] == 0f;

    /// <summary>
    /// LSTM step after <c>z = x·W + b + h·U</c>: activates the gates of <paramref name="z"/> <c>(B, 4u)</c> in place to
    /// <c>[σ(z_i), σ(z_f), tanh(z_c), σ(z_o)]</c> and writes <c>c = f·c_prev + i·g</c>, <c>h = o·tanh(c)</c> (rows with
    /// keep 0: the previous states).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LstmForwardStep(float* z, float* cPrev, float* hPrev, float* c, float* h, float* keep, int batch, int units)
    {
        int u = units;
        float* tail = stackalloc float[7 * Lanes];
        for (int r = 0; r < batch; r++)
        {
            float* zi = z + (long)r * 4 * u, zf = zi + u, zg = zf + u, zo = zg + u;
            long row = (long)r * u;
            float* cp = cPrev + row, cr = c + row, hr = h + row;
            bool dropped = Dropped(keep, r);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j <= u - Lanes; j += Lanes) LstmForwardBlock(zi + j, zf + j, zg + j, zo + j, cp + j, cr + j, hr + j, dropped);
                if (j < u)
                {
                    // The last partial block through a zero-padded copy: scalar exp and tanh would cost more than a block.
                    int n = u - j;
                    new Span<float>(tail, 7 * Lanes).Clear();
                    float* ti = tail, tf = tail + Lanes, tg = tail + 2 * Lanes, to = tail + 3 * Lanes, tc = tail + 4 * Lanes;
                    Copy(zi + j, ti, n);
                    Copy(zf + j, tf, n);
                    Copy(zg + j, tg, n);
                    Copy(zo + j, to, n);
                    Copy(cp + j, tc, n);
                    LstmForwardBlock(ti, tf, tg, to, tc, tail + 5 * Lanes, tail + 6 * Lanes, dropped);
                    Copy(ti, zi + j, n);
                    Copy(tf, zf + j, n);
                    Copy(tg, zg + j, n);
                    Copy(to, zo + j, n);
                    if (!dropped)
                    {
                        Copy(tail + 5 * Lanes, cr + j, n);
                        Copy(tail + 6 * Lanes, hr + j, n);
                    }
                    j = u;
                }
            }
            for (; j < u; j++)
            {
                float i = FastMath.Sigmoid(zi[j]), f = FastMath.Sigmoid(zf[j]), g = MathF.Tanh(zg[j]), o = FastMath.Sigmoid(zo[j]);
                zi[j] = i;
                zf[j] = f;
                zg[j] = g;
                zo[j] = o;
                if (dropped) continue;
                float cv = f * cp[j] + i * g;
                cr[j] = cv;
                hr[j] = o * MathF.Tanh(cv);
            }
            if (dropped)
            {
                Copy(cp, cr, u);
                Copy(hPrev + row, hr, u);
            }
        }
    }

    /// <summary>One SIMD block of <see cref="LstmForwardStep"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LstmForwardBlock(float* zi, float* zf, float* zg, float* zo, float* cp, float* cr, float* hr, bool dropped)
    {
        var i = FastMath.Sigmoid(Vector256.Load(zi));
        var f = FastMath.Sigmoid(Vector256.Load(zf));
        var g = FastMath.Tanh(Vector256.Load(zg));
        var o = FastMath.Sigmoid(Vector256.Load(zo));
        i.Store(zi);
        f.Store(zf);
        g.Store(zg);
        o.Store(zo);
        if (dropped) return;
        var cv = f * Vector256.Load(cp) + i * g;
        cv.Store(cr);
        (o * FastMath.Tanh(cv)).Store(hr);
    }

    /// <summary>
    /// LSTM backward through one step. On entry <paramref name="dh"/> holds the recurrent part of the gradient of this
    /// step's <c>h</c> (plus what masked rows passed on) and <paramref name="dc"/> the gradient of its <c>c</c>;
    /// <paramref name="incoming"/> (or <c>null</c>) the gradient of the step's output. Writes the gate gradients
    /// <paramref name="dz"/> <c>(B, 4u)</c> (before activation), replaces <paramref name="dc"/> by the gradient of
    /// <c>c_prev</c>, and sets <paramref name="next"/> to what passes to <c>h_prev</c> besides <c>dz·Uᵀ</c> (the whole
    /// <c>dh</c> of a masked row, else 0). <paramref name="tanhC"/> is scratch of <c>u</c> floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LstmBackwardStep(float* gates, float* c, float* cPrev, float* incoming, float* dh, float* dc, float* dz,
        float* next, float* keep, float* tanhC, int batch, int units)
    {
        int u = units;
        for (int r = 0; r < batch; r++)
        {
            long row = (long)r * u;
            float* dhr = dh + row;
            if (incoming is not null) AddInPlace(dhr, incoming + row, u);
            float* dzr = dz + 4 * row;
            if (Dropped(keep, r))
            {
                new Span<float>(dzr, 4 * u).Clear();
                new ReadOnlySpan<float>(dhr, u).CopyTo(new Span<float>(next + row, u));
                continue;
            }
            FastMath.Tanh(c + row, tanhC, u);
            float* gr = gates + 4 * row;
            LstmBackwardRow(gr, gr + u, gr + 2 * u, gr + 3 * u, tanhC, cPrev + row, dhr, dc + row, dzr, dzr + u, dzr + 2 * u, dzr + 3 * u, next + row, u);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LstmBackwardRow(float* i, float* f, float* g, float* o, float* tc, float* cp, float* dh, float* dc,
        float* di, float* df, float* dg, float* dO, float* next, int u)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<float>.One;
            for (; j <= u - Lanes; j += Lanes)
            {
                var vi = Vector256.Load(i + j);
                var vf = Vector256.Load(f + j);
                var vg = Vector256.Load(g + j);
                var vo = Vector256.Load(o + j);
                var vt = Vector256.Load(tc + j);
                var vdh = Vector256.Load(dh + j);
                var vdc = Vector256.Load(dc + j) + vdh * vo * (one - vt * vt);
                (vdh * vt * vo * (one - vo)).Store(dO + j);
                (vdc * vg * vi * (one - vi)).Store(di + j);
                (vdc * Vector256.Load(cp + j) * vf * (one - vf)).Store(df + j);
                (vdc * vi * (one - vg * vg)).Store(dg + j);
                (vdc * vf).Store(dc + j);
                Vector256<float>.Zero.Store(next + j);
            }
        }
        for (; j < u; j++)
        {
            float vi = i[j], vf = f[j], vg = g[j], vo = o[j], vt = tc[j], vdh = dh[j];
            float vdc = dc[j] + vdh * vo * (1 - vt * vt);
            dO[j] = vdh * vt * vo * (1 - vo);
            di[j] = vdc * vg * vi * (1 - vi);
            df[j] = vdc * cp[j] * vf * (1 - vf);
            dg[j] = vdc * vi * (1 - vg * vg);
            dc[j] = vdc * vf;
            next[j] = 0;
        }
    }

    /// <summary>
    /// GRU (<c>reset_after=True</c>) step after <paramref name="rec"/> <c>= h·U</c> <c>(B, 3u)</c>: with <paramref name="gates"/>
    /// <c>(B, 3u)</c> holding <c>x·W + b0</c>, writes <c>[z, r, ĥ]</c> over it, <c>z = σ(x_z + rec_z + b1_z)</c>,
    /// <c>r = σ(x_r + rec_r + b1_r)</c>, <c>ĥ = tanh(x_h + r·(rec_h + b1_h))</c>, keeps <c>rec_h + b1_h</c> in
    /// <paramref name="recH"/> <c>(B, u)</c> for backward and writes <c>h = ĥ + z·(h_prev − ĥ)</c> (rows with keep 0: <c>h_prev</c>).
    /// <paramref name="recurrentBias"/> <c>(3u)</c> may be <c>null</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GruForwardStep(float* gates, float* rec, float* recurrentBias, float* hPrev, float* recH, float* h, float* keep, int batch, int units)
    {
        int u = units;
        float* tail = stackalloc float[12 * Lanes];
        for (int r = 0; r < batch; r++)
        {
            float* xz = gates + (long)r * 3 * u, xr = xz + u, xh = xr + u;
            float* rz = rec + (long)r * 3 * u, rr = rz + u, rh = rr + u;
            long row = (long)r * u;
            float* hp = hPrev + row, hr = h + row, kr = recH + row;
            float* bz = recurrentBias, br = bz is null ? null : bz + u, bh = bz is null ? null : bz + 2 * u;
            bool dropped = Dropped(keep, r);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j <= u - Lanes; j += Lanes)
                    GruForwardBlock(xz + j, xr + j, xh + j, rz + j, rr + j, rh + j, bz is null ? null : bz + j, br is null ? null : br + j,
                        bh is null ? null : bh + j, hp + j, kr + j, hr + j, dropped);
                if (j < u)
                {
                    // The last partial block through a zero-padded copy (see LstmForwardStep).
                    int n = u - j;
                    new Span<float>(tail, 12 * Lanes).Clear();
                    float* t = tail;
                    Copy(xz + j, t, n);
                    Copy(xr + j, t + Lanes, n);
                    Copy(xh + j, t + 2 * Lanes, n);
                    Copy(rz + j, t + 3 * Lanes, n);
                    Copy(rr + j, t + 4 * Lanes, n);
                    Copy(rh + j, t + 5 * Lanes, n);
                    Copy(hp + j, t + 9 * Lanes, n);
                    if (bz is not null)
                    {
                        Copy(bz + j, t + 6 * Lanes, n);
                        Copy(br + j, t + 7 * Lanes, n);
                        Copy(bh + j, t + 8 * Lanes, n);
                    }
                    GruForwardBlock(t, t + Lanes, t + 2 * Lanes, t + 3 * Lanes, t + 4 * Lanes, t + 5 * Lanes, t + 6 * Lanes, t + 7 * Lanes,
                        t + 8 * Lanes, t + 9 * Lanes, t + 10 * Lanes, t + 11 * Lanes, dropped);
                    Copy(t, xz + j, n);
                    Copy(t + Lanes, xr + j, n);
                    Copy(t + 2 * Lanes, xh + j, n);
                    Copy(t + 10 * Lanes, kr + j, n);
                    if (!dropped) Copy(t + 11 * Lanes, hr + j, n);
                    j = u;
                }
            }
            for (; j < u; j++)
            {
                float vz = xz[j] + rz[j], vr = xr[j] + rr[j], vh = rh[j];
                if (bz is not null)
                {
                    vz += bz[j];
                    vr += br[j];
                    vh += bh[j];
                }
                vz = FastMath.Sigmoid(vz);
                vr = FastMath.Sigmoid(vr);
                float candidate = MathF.Tanh(xh[j] + vr * vh);
                xz[j] = vz;
                xr[j] = vr;
                xh[j] = candidate;
                kr[j] = vh;
                if (!dropped) hr[j] = candidate + vz * (hp[j] - candidate);
            }
            if (dropped) Copy(hp, hr, u);
        }
    }

    /// <summary>One SIMD block of <see cref="GruForwardStep"/> (bias pointers <c>null</c> without a recurrent bias).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GruForwardBlock(float* xz, float* xr, float* xh, float* rz, float* rr, float* rh, float* bz, float* br, float* bh, float* hp,
        float* kr, float* hr, bool dropped)
    {
        Vector256<float> vz = Vector256.Load(xz) + Vector256.Load(rz), vr = Vector256.Load(xr) + Vector256.Load(rr), vh = Vector256.Load(rh);
        if (bz is not null)
        {
            vz += Vector256.Load(bz);
            vr += Vector256.Load(br);
            vh += Vector256.Load(bh);
        }
        vz = FastMath.Sigmoid(vz);
        vr = FastMath.Sigmoid(vr);
        var candidate = FastMath.Tanh(FastMath.Mad(vr, vh, Vector256.Load(xh)));
        vz.Store(xz);
        vr.Store(xr);
        candidate.Store(xh);
        vh.Store(kr);
        if (!dropped) FastMath.Mad(vz, Vector256.Load(hp) - candidate, candidate).Store(hr);
    }

    /// <summary>
    /// GRU (<c>reset_after=True</c>) backward through one step. On entry <paramref name="dh"/> holds what flowed back into
    /// this step's <c>h</c> from later steps; <paramref name="incoming"/> (or <c>null</c>) the gradient of the step's
    /// output. Writes the gradient of the input projection <paramref name="dzIn"/> <c>(B, 3u)</c> <c>[dz, dr, dĥ]</c> (before
    /// activation), of <c>h·U + b1</c> into <paramref name="dRec"/> <c>(B, 3u)</c> <c>[dz, dr, dĥ·r]</c> and its candidate
    /// block also into <paramref name="dRecH"/> <c>(B, u)</c>, and sets <paramref name="next"/> to the gradient of
    /// <c>h_prev</c> except <c>dRec·Uᵀ</c>: <c>dh·z</c> (masked rows: <c>dh</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GruBackwardStep(float* gates, float* recH, float* hPrev, float* incoming, float* dh, float* dzIn, float* dRec, float* dRecH,
        float* next, float* keep, int batch, int units)
    {
        int u = units;
        for (int r = 0; r < batch; r++)
        {
            long row = (long)r * u;
            float* dhr = dh + row;
            if (incoming is not null) AddInPlace(dhr, incoming + row, u);
            float* dzz = dzIn + 3 * row, dzr = dzz + u, dzh = dzr + u;
            float* drz = dRec + 3 * row, drr = drz + u, drh = drr + u;
            float* nr = next + row, dkh = dRecH + row;
            if (Dropped(keep, r))
            {
                new Span<float>(dzz, 3 * u).Clear();
                new Span<float>(drz, 3 * u).Clear();
                new Span<float>(dkh, u).Clear();
                new ReadOnlySpan<float>(dhr, u).CopyTo(new Span<float>(nr, u));
                continue;
            }
            float* gz = gates + 3 * row, gr = gz + u, gh = gr + u;
            float* kh = recH + row, hp = hPrev + row;
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var one = Vector256<float>.One;
                for (; j <= u - Vector256<float>.Count; j += Vector256<float>.Count)
                {
                    var z = Vector256.Load(gz + j);
                    var reset = Vector256.Load(gr + j);
                    var c = Vector256.Load(gh + j);
                    var d = Vector256.Load(dhr + j);
                    var a = d * (one - z) * (one - c * c);
                    var dz = d * (Vector256.Load(hp + j) - c) * z * (one - z);
                    var dr = a * Vector256.Load(kh + j) * reset * (one - reset);
                    var ar = a * reset;
                    dz.Store(dzz + j);
                    dr.Store(dzr + j);
                    a.Store(dzh + j);
                    dz.Store(drz + j);
                    dr.Store(drr + j);
                    ar.Store(drh + j);
                    ar.Store(dkh + j);
                    (d * z).Store(nr + j);
                }
            }
            for (; j < u; j++)
            {
                float z = gz[j], reset = gr[j], c = gh[j], d = dhr[j];
                float a = d * (1 - z) * (1 - c * c);
                float dz = d * (hp[j] - c) * z * (1 - z);
                float dr = a * kh[j] * reset * (1 - reset);
                dzz[j] = drz[j] = dz;
                dzr[j] = drr[j] = dr;
                dzh[j] = a;
                drh[j] = dkh[j] = a * reset;
                nr[j] = d * z;
            }
        }
    }

    /// <summary>
    /// GRU (<c>reset_after=False</c>) step, first part, after <c>[z, r] += h·U_zr</c>: activates <c>z</c>, <c>r</c> of
    /// <paramref name="gates"/> <c>(B, 3u)</c> in place and writes <paramref name="q"/> <c>= r ⊙ h_prev</c> <c>(B, u)</c>,
    /// the left factor of the candidate's recurrent product.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GruResetBeforeGates(float* gates, float* hPrev, float* q, int batch, int units)
    {
        int u = units;
        float* tail = stackalloc float[3 * Lanes];
        for (int r = 0; r < batch; r++)
        {
            float* gz = gates + (long)r * 3 * u, gr = gz + u;
            long row = (long)r * u;
            float* hp = hPrev + row, qr = q + row;
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j <= u - Lanes; j += Lanes) GruResetBeforeGatesBlock(gz + j, gr + j, hp + j, qr + j);
                if (j < u)
                {
                    int n = u - j;
                    new Span<float>(tail, 3 * Lanes).Clear();
                    Copy(gz + j, tail, n);
                    Copy(gr + j, tail + Lanes, n);
                    Copy(hp + j, tail + 2 * Lanes, n);
                    GruResetBeforeGatesBlock(tail, tail + Lanes, tail + 2 * Lanes, tail + 2 * Lanes);
                    Copy(tail, gz + j, n);
                    Copy(tail + Lanes, gr + j, n);
                    Copy(tail + 2 * Lanes, qr + j, n);
                    j = u;
                }
            }
            for (; j < u; j++)
            {
                gz[j] = FastMath.Sigmoid(gz[j]);
                gr[j] = FastMath.Sigmoid(gr[j]);
                qr[j] = gr[j] * hp[j];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GruResetBeforeGatesBlock(float* gz, float* gr, float* hp, float* q)
    {
        var z = FastMath.Sigmoid(Vector256.Load(gz));
        var reset = FastMath.Sigmoid(Vector256.Load(gr));
        z.Store(gz);
        reset.Store(gr);
        (reset * Vector256.Load(hp)).Store(q);
    }

    /// <summary>
    /// GRU (<c>reset_after=False</c>) step, second part, after <c>ĥ_pre += q·U_h</c>: <c>ĥ = tanh(ĥ_pre)</c> in place and
    /// <c>h = ĥ + z·(h_prev − ĥ)</c> (rows with keep 0: <c>h_prev</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GruResetBeforeState(float* gates, float* hPrev, float* h, float* keep, int batch, int units)
    {
        int u = units;
        float* tail = stackalloc float[4 * Lanes];
        for (int r = 0; r < batch; r++)
        {
            float* gz = gates + (long)r * 3 * u, gh = gz + 2 * u;
            long row = (long)r * u;
            float* hp = hPrev + row, hr = h + row;
            bool dropped = Dropped(keep, r);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j <= u - Lanes; j += Lanes) GruResetBeforeStateBlock(gz + j, gh + j, hp + j, hr + j, dropped);
                if (j < u)
                {
                    int n = u - j;
                    new Span<float>(tail, 4 * Lanes).Clear();
                    Copy(gz + j, tail, n);
                    Copy(gh + j, tail + Lanes, n);
                    Copy(hp + j, tail + 2 * Lanes, n);
                    GruResetBeforeStateBlock(tail, tail + Lanes, tail + 2 * Lanes, tail + 3 * Lanes, dropped);
                    Copy(tail + Lanes, gh + j, n);
                    if (!dropped) Copy(tail + 3 * Lanes, hr + j, n);
                    j = u;
                }
            }
            for (; j < u; j++)
            {
                float candidate = MathF.Tanh(gh[j]);
                gh[j] = candidate;
                if (!dropped) hr[j] = candidate + gz[j] * (hp[j] - candidate);
            }
            if (dropped) Copy(hp, hr, u);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GruResetBeforeStateBlock(float* gz, float* gh, float* hp, float* hr, bool dropped)
    {
        var candidate = FastMath.Tanh(Vector256.Load(gh));
        candidate.Store(gh);
        if (!dropped) FastMath.Mad(Vector256.Load(gz), Vector256.Load(hp) - candidate, candidate).Store(hr);
    }

    /// <summary>
    /// GRU (<c>reset_after=False</c>) backward through one step, first part. <paramref name="dh"/>: what flowed back into
    /// this step's <c>h</c> from later steps (plus <paramref name="incoming"/>, the gradient of the step's output, or
    /// <c>null</c>). Overwrites the step's <paramref name="gates"/> <c>(B, 3u)</c>: <c>z</c> by its gradient before the
    /// sigmoid, <c>ĥ</c> by <c>a = dh·(1 − z)(1 − ĥ²)</c> (the candidate's gradient before tanh); <c>r</c> stays for the
    /// second part. Sets <paramref name="next"/> to <c>dh·z</c> (masked rows: <c>dh</c>, and zero gate gradients).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GruResetBeforeBackwardGates(float* gates, float* hPrev, float* incoming, float* dh, float* next, float* keep, int batch, int units)
    {
        int u = units;
        for (int r = 0; r < batch; r++)
        {
            long row = (long)r * u;
            float* dhr = dh + row, nr = next + row;
            if (incoming is not null) AddInPlace(dhr, incoming + row, u);
            float* gz = gates + 3 * row, gh = gz + 2 * u, hp = hPrev + row;
            if (Dropped(keep, r))
            {
                new Span<float>(gz, 3 * u).Clear();
                Copy(dhr, nr, u);
                continue;
            }
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var one = Vector256<float>.One;
                for (; j <= u - Lanes; j += Lanes)
                {
                    var z = Vector256.Load(gz + j);
                    var c = Vector256.Load(gh + j);
                    var d = Vector256.Load(dhr + j);
                    (d * (Vector256.Load(hp + j) - c) * z * (one - z)).Store(gz + j);
                    (d * (one - z) * (one - c * c)).Store(gh + j);
                    (d * z).Store(nr + j);
                }
            }
            for (; j < u; j++)
            {
                float z = gz[j], c = gh[j], d = dhr[j];
                gz[j] = d * (hp[j] - c) * z * (1 - z);
                gh[j] = d * (1 - z) * (1 - c * c);
                nr[j] = d * z;
            }
        }
    }

    /// <summary>
    /// GRU (<c>reset_after=False</c>) backward, second part, after <paramref name="dq"/> <c>= a·U_hᵀ</c> (the gradient of
    /// <c>q = r ⊙ h_prev</c>): keeps <c>q</c> in <paramref name="q"/> <c>(B, u)</c> for the recurrent kernel's gradient,
    /// overwrites <c>r</c> in <paramref name="gates"/> by its gradient before the sigmoid and adds <c>dq·r</c> to
    /// <paramref name="next"/>. Masked rows: <c>q = 0</c> (their <c>a</c> is zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GruResetBeforeBackwardReset(float* gates, float* hPrev, float* dq, float* next, float* q, float* keep, int batch, int units)
    {
        int u = units;
        for (int r = 0; r < batch; r++)
        {
            long row = (long)r * u;
            float* gr = gates + 3 * row + u, hp = hPrev + row, dqr = dq + row, nr = next + row, qr = q + row;
            if (Dropped(keep, r))
            {
                new Span<float>(qr, u).Clear();
                continue;
            }
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var one = Vector256<float>.One;
                for (; j <= u - Lanes; j += Lanes)
                {
                    var reset = Vector256.Load(gr + j);
                    var h = Vector256.Load(hp + j);
                    var g = Vector256.Load(dqr + j);
                    (reset * h).Store(qr + j);
                    (g * h * reset * (one - reset)).Store(gr + j);
                    FastMath.Mad(g, reset, Vector256.Load(nr + j)).Store(nr + j);
                }
            }
            for (; j < u; j++)
            {
                float reset = gr[j], h = hp[j], g = dqr[j];
                qr[j] = reset * h;
                gr[j] = g * h * reset * (1 - reset);
                nr[j] += g * reset;
            }
        }
    }

    /// <summary>
    /// Whether a step's recurrent product <c>(batch, units) · (units, G·units)</c> is small enough (under 256 kFLOP, e.g.
    /// batch 32 × 20 units) that <see cref="AddProduct"/> and <see cref="AddProductTransposed"/> beat a libtorch call:
    /// the time loop then makes no libtorch call and creates no tensor per step.
    /// </summary>
    internal static bool SmallProduct(long batch, long units, int gates) => 2.0 * batch * units * gates * units < 256e3;

    /// <summary><c>c += a·b</c> for row-major <paramref name="a"/> <c>(rows, k)</c>, <paramref name="b"/> <c>(k, n)</c>, <paramref name="c"/> <c>(rows, n)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddProduct(float* a, float* b, float* c, int rows, int k, int n)
    {
        for (int r = 0; r < rows; r++)
        {
            float* ar = a + (long)r * k, cr = c + (long)r * n;
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                // 32 columns at a time in four accumulators, then 8.
                for (; j <= n - 4 * Lanes; j += 4 * Lanes)
                {
                    Vector256<float> c0 = Vector256.Load(cr + j), c1 = Vector256.Load(cr + j + Lanes),
                        c2 = Vector256.Load(cr + j + 2 * Lanes), c3 = Vector256.Load(cr + j + 3 * Lanes);
                    for (int m = 0; m < k; m++)
                    {
                        var s = Vector256.Create(ar[m]);
                        float* bm = b + (long)m * n + j;
                        c0 = FastMath.Mad(s, Vector256.Load(bm), c0);
                        c1 = FastMath.Mad(s, Vector256.Load(bm + Lanes), c1);
                        c2 = FastMath.Mad(s, Vector256.Load(bm + 2 * Lanes), c2);
                        c3 = FastMath.Mad(s, Vector256.Load(bm + 3 * Lanes), c3);
                    }
                    c0.Store(cr + j);
                    c1.Store(cr + j + Lanes);
                    c2.Store(cr + j + 2 * Lanes);
                    c3.Store(cr + j + 3 * Lanes);
                }
                for (; j <= n - Lanes; j += Lanes)
                {
                    var c0 = Vector256.Load(cr + j);
                    for (int m = 0; m < k; m++) c0 = FastMath.Mad(Vector256.Create(ar[m]), Vector256.Load(b + (long)m * n + j), c0);
                    c0.Store(cr + j);
                }
            }
            for (; j < n; j++)
            {
                float sum = cr[j];
                for (int m = 0; m < k; m++) sum += ar[m] * b[(long)m * n + j];
                cr[j] = sum;
            }
        }
    }

    /// <summary><c>c += a·bᵀ</c> for row-major <paramref name="a"/> <c>(rows, k)</c>, <paramref name="b"/> <c>(n, k)</c>, <paramref name="c"/> <c>(rows, n)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddProductTransposed(float* a, float* b, float* c, int rows, int k, int n)
    {
        for (int r = 0; r < rows; r++)
        {
            float* ar = a + (long)r * k, cr = c + (long)r * n;
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                // Four dot products at a time share the loads of a's row.
                for (; j <= n - 4; j += 4)
                {
                    float* b0 = b + (long)j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
                    Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
                    int m = 0;
                    for (; m <= k - Lanes; m += Lanes)
                    {
                        var v = Vector256.Load(ar + m);
                        s0 = FastMath.Mad(v, Vector256.Load(b0 + m), s0);
                        s1 = FastMath.Mad(v, Vector256.Load(b1 + m), s1);
                        s2 = FastMath.Mad(v, Vector256.Load(b2 + m), s2);
                        s3 = FastMath.Mad(v, Vector256.Load(b3 + m), s3);
                    }
                    float d0 = Vector256.Sum(s0), d1 = Vector256.Sum(s1), d2 = Vector256.Sum(s2), d3 = Vector256.Sum(s3);
                    for (; m < k; m++)
                    {
                        d0 += ar[m] * b0[m];
                        d1 += ar[m] * b1[m];
                        d2 += ar[m] * b2[m];
                        d3 += ar[m] * b3[m];
                    }
                    cr[j] += d0;
                    cr[j + 1] += d1;
                    cr[j + 2] += d2;
                    cr[j + 3] += d3;
                }
            }
            for (; j < n; j++)
            {
                float* bj = b + (long)j * k;
                float d = 0;
                for (int m = 0; m < k; m++) d += ar[m] * bj[m];
                cr[j] += d;
            }
        }
    }

    /// <summary>Floats per SIMD block.</summary>
    internal const int Lanes = 8;

    private static void Copy(float* source, float* destination, int n) => new ReadOnlySpan<float>(source, n).CopyTo(new Span<float>(destination, n));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddInPlace(float* target, float* addend, int n)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; j <= n - Lanes; j += Lanes)
                (Vector256.Load(target + j) + Vector256.Load(addend + j)).Store(target + j);
        for (; j < n; j++) target[j] += addend[j];
    }
}

/// <summary>
/// The two <c>(B, u)</c> state-gradient buffers of a fused backward time loop, used alternately: <see cref="Current"/>
/// holds what flowed back into the current step's state, <see cref="Next"/> receives what flows on to the previous
/// step; <see cref="Swap"/> moves to the previous step.
/// </summary>
internal sealed unsafe class StateGradients
{
    /// <summary>
    /// <see cref="Current"/> starts as the gradient of the final state from outside the layer, <paramref name="final"/>
    /// (nothing else flows into the last step's state from later steps), or zeros.
    /// </summary>
    public StateGradients(long batch, long units, Tensor like, Tensor? final = null)
    {
        Current = RecurrentKernels.GradientBuffer(final, [batch, units], like);
        Next = torch.empty_like(Current);
        CurrentPointer = FusedCells.Pointer(Current);
        NextPointer = FusedCells.Pointer(Next);
    }

    /// <summary>The gradient flowing into the current step's state; after the last <see cref="Swap"/>, that of the initial state.</summary>
    public Tensor Current { get; private set; }

    /// <summary>The buffer for the gradient flowing to the previous step.</summary>
    public Tensor Next { get; private set; }

    /// <summary>The address of <see cref="Current"/>'s data.</summary>
    public float* CurrentPointer { get; private set; }

    /// <summary>The address of <see cref="Next"/>'s data.</summary>
    public float* NextPointer { get; private set; }

    /// <summary>Steps back: the next buffer becomes the current one.</summary>
    public void Swap()
    {
        (Current, Next) = (Next, Current);
        float* current = CurrentPointer;
        CurrentPointer = NextPointer;
        NextPointer = current;
    }
}

