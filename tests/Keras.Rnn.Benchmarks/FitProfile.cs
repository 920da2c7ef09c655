using Keras.Rnn.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>Where the time of one small training step goes, ours against the raw loop (diagnostics; not part of the table).</summary>
internal static class FitProfile
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        foreach (var (label, kernels) in new[] { ("auto", RecurrentKernelMode.Auto), ("custom", RecurrentKernelMode.Custom) })
        {
            RecurrentKernels.Mode = kernels;
            var spec = RecurrentSpec.Small(CellType.Lstm);
            KerasApi.SetRandomSeed(0);
            var (x, y) = spec.Data(1);
            var model = spec.BuildOurs();
            var net = spec.BuildRaw();
            var optimizer = optim.Adam(net.parameters(), lr: 0.001);
            var pieces = RawPieces.Of(net, optimizer, x, y);
            void T(string name, Action a) => pieces.Add((name, a));
            var layer = model.Layers.OfType<Keras.Rnn.Layers.RNN>().Single();
            var w = layer.TrainableWeights.Select(v => v.Value).ToList();
            T("ours RecurrentKernels.Run fwd+bwd", () =>
            {
                using var s = torch.NewDisposeScope();
                var h0 = torch.zeros(spec.Batch, spec.Units);
                var (seq, _) = RecurrentKernels.Run(RecurrentCell.Lstm, x, [h0, h0], w[0], w[1], w[2], null);
                torch.autograd.grad([seq.select(1, -1).sum()], w);
            });
            T("ours RecurrentKernels.Run fwd (graph)", () =>
            {
                using var s = torch.NewDisposeScope();
                var h0 = torch.zeros(spec.Batch, spec.Units);
                RecurrentKernels.Run(RecurrentCell.Lstm, x, [h0, h0], w[0], w[1], w[2], null);
            });
            T("ours LstmKernel.Forward no_grad", () =>
            {
                using var s = torch.NewDisposeScope();
                using var g = torch.no_grad();
                var h0 = torch.zeros(spec.Batch, spec.Units);
                LstmKernel.Forward(x, h0, h0, w[0], w[1], w[2], null);
            });
            T("ours LstmKernel.Forward+Backward no_grad", () =>
            {
                using var s = torch.NewDisposeScope();
                using var g = torch.no_grad();
                var h0 = torch.zeros(spec.Batch, spec.Units);
                var r = LstmKernel.Forward(x, h0, h0, w[0], w[1], w[2], null);
                var dH = torch.zeros(spec.Steps, spec.Batch, spec.Units);
                LstmKernel.Backward(r, h0, h0, w[0], w[1], null, dH, null, [false, false, false, true, true, true], true);
            });
            T("ours layer.Apply fwd+bwd", () =>
            {
                using var s = torch.NewDisposeScope();
                torch.autograd.grad([layer.Apply(x, training: true).sum()], w);
            });
            T("ours TrainOnBatch", () => model.TrainOnBatch(x, y));
            pieces.AddRange(OursPieces.Of(model, x, y));
            Harness.RoundRobin(pieces, options.Quick, 20, label);
        }
        RecurrentKernels.Mode = RecurrentKernelMode.Auto;
    }
}
