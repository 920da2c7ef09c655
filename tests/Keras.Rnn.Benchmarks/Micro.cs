using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>Element-wise micro-benchmarks of the LSTM step (diagnostics for kernel work; not part of the table).</summary>
internal static class Micro
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        const int b = 64, u = 256, reps = 2000;
        var g = torch.randn(b, 4 * u);
        var g4 = g.view(b, 4, u);
        var c = torch.randn(b, u);
        var h = torch.randn(b, u);
        var cPrev = torch.randn(b, u);
        var one = 1.0.ToScalar();
        var U = torch.randn(u, 4 * u);
        var Ut = torch.randn(4 * u, u);
        void T(string name, Action a)
        {
            for (int i = 0; i < 50; i++) a();
            double ms = Harness.Time(() => { for (int i = 0; i < reps; i++) a(); });
            Console.WriteLine($"  {name,-40} {Harness.F(ms * 1000 / reps, "F1")} µs");
        }
        T("sigmoid_ strided (b,2,u) of (b,4,u)", () => g4.narrow(1, 0, 2).sigmoid_());
        T("sigmoid_ contiguous (b,2u)", () => c.sigmoid_());
        T("torch.sigmoid contiguous (b,u) alloc", () => torch.sigmoid(c).Dispose());
        T("tanh_ strided (b,u)", () => g4.select(1, 2).tanh_());
        var big = torch.randn(b, u);
        T("tanh_ contiguous (b,u) fresh values", () => big.copy_(cPrev).tanh_());
        T("tanh via 2σ(2x)−1 contiguous", () => big.copy_(cPrev).mul_(2).sigmoid_().mul_(2).sub_(1));
        T("torch.tanh contiguous alloc", () => torch.tanh(cPrev).Dispose());
        T("copy_ strided->contig", () => c.copy_(g4.select(1, 1)));
        T("mul_ contiguous", () => c.mul_(cPrev));
        T("addcmul_ strided", () => c.addcmul_(g4.select(1, 0), g4.select(1, 2), one));
        T("addmm_ h·U into (b,4u)", () => g.addmm_(h, U));
        T("addmm_ h·Utᵀ into (b,4u) (NT)", () => g.addmm_(h, Ut.t()));
        T("mm h·U alloc", () => h.mm(U).Dispose());
        T("bwd: dh += s·Uᵀ, U (u,4u) view (NT)", () => h.addmm_(g, U.t()));
        T("bwd: dh += s·Ut, Ut (4u,u) contiguous (NN)", () => h.addmm_(g, Ut));
        unsafe
        {
            var hOut = torch.empty(b, u);
            var cOut = torch.empty(b, u);
            var dz = torch.empty(b, 4 * u);
            var next = torch.empty(b, u);
            var dc = torch.zeros(b, u);
            var scratch = torch.empty(u);
            float* pg = Keras.Rnn.Backend.FusedCells.Pointer(g), pc = Keras.Rnn.Backend.FusedCells.Pointer(cPrev), ph = Keras.Rnn.Backend.FusedCells.Pointer(h);
            float* pco = Keras.Rnn.Backend.FusedCells.Pointer(cOut), pho = Keras.Rnn.Backend.FusedCells.Pointer(hOut), pdz = Keras.Rnn.Backend.FusedCells.Pointer(dz);
            float* pn = Keras.Rnn.Backend.FusedCells.Pointer(next), pdc = Keras.Rnn.Backend.FusedCells.Pointer(dc), ps = Keras.Rnn.Backend.FusedCells.Pointer(scratch);
            Console.WriteLine($"  Vector256 accelerated: {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, Avx2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}, Fma {System.Runtime.Intrinsics.X86.Fma.IsSupported}");
            T("FastMath.Tanh 16K", () => Keras.Rnn.Backend.FastMath.Tanh(pc, pco, b * u));
            T("FastMath.Exp 16K", () => { for (int k = 0; k < b * u; k += 8) System.Runtime.Intrinsics.Vector256.Store(Keras.Rnn.Backend.FastMath.Exp(System.Runtime.Intrinsics.Vector256.Load(pc + k)), pco + k); });
            T("fused forward step (element-wise)", () => { g.clamp_(-5, 5); Keras.Rnn.Backend.FusedCells.LstmForwardStep(pg, pc, ph, pco, pho, null, b, u); });
            T("clamp_ alone (b,4u)", () => g.clamp_(-5, 5));
            T("fused backward step (element-wise)", () => { dc.zero_(); Keras.Rnn.Backend.FusedCells.LstmBackwardStep(pg, pco, pc, null, pho, pdc, pdz, pn, null, ps, b, u); });
            T("fused forward step + addmm", () => { g.addmm_(h, U, beta: 0); Keras.Rnn.Backend.FusedCells.LstmForwardStep(pg, pc, ph, pco, pho, null, b, u); });
        }
        T("whole step", () =>
        {
            g.addmm_(h, U);
            g4.narrow(1, 0, 2).sigmoid_();
            g4.select(1, 2).tanh_();
            g4.select(1, 3).sigmoid_();
            c.copy_(g4.select(1, 1)).mul_(cPrev).addcmul_(g4.select(1, 0), g4.select(1, 2), one);
            h.copy_(c).tanh_().mul_(g4.select(1, 3));
        });
    }
}
