using Keras.Rnn.Backend;
using Keras.Rnn.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Benchmarks;

/// <summary>Where the time of one small <c>Predict</c> goes (diagnostics; not part of the table).</summary>
internal static class PredictProfile
{
    public static void Run(BenchmarkOptions options, ResultTable table)
    {
        foreach (var cell in new[] { CellType.Lstm, CellType.Gru })
        {
            var spec = RecurrentSpec.Standard(cell) with { Batch = 1 };
            KerasApi.SetRandomSeed(0);
            var (x, _) = spec.Data(1);
            var model = spec.BuildOurs();
            var raw = new RawTrainer(spec.BuildRaw());
            var layer = model.Layers.OfType<Keras.Rnn.Layers.RNN>().Single();
            var dense = model.Layers.OfType<Keras.Rnn.Layers.Dense>().Single();
            int reps = options.Quick ? 100 : 400;
            var kv = layer.TrainableWeights[0];
            var rkv = layer.TrainableWeights[1];
            var bv = layer.TrainableWeights[2];
            var kernel = kv.Value;
            var rk = rkv.Value;
            var bias = bv.Value;
            var cache = new DerivedWeights();
            var pieces = new List<(string Name, Action A)>();
            void T(string name, Action a) => pieces.Add((name, a));
            T("raw forward no_grad", () => raw.Predict(x).Dispose());
            T("Model.Predict", () => model.Predict(x, batchSize: 1, verbose: 0).Dispose());
            T("Model.PredictOnBatch", () => model.PredictOnBatch(x).Dispose());
            T("layer+dense ApplyAll no_grad", () =>
            {
                using var s = torch.NewDisposeScope();
                using var g = torch.no_grad();
                dense.ApplyAll(layer.ApplyAll([x], training: false), training: false);
            });
            T("model.Forward no_grad", () =>
            {
                using var s = torch.NewDisposeScope();
                using var g = torch.no_grad();
                model.Forward([x], false, null);
            });
            T("EnsureOnDevice", () => model.EnsureOnDevice());
            T("CallbackList + PredictBegin/End", () =>
            {
                var l = new Keras.Rnn.Callbacks.CallbackList(null, model, false, true, 0, 1, 1);
                l.PredictBegin(new Dictionary<string, double>());
                l.PredictBatchBegin(0, new Dictionary<string, double>());
                l.PredictBatchEnd(0, new Dictionary<string, double>());
                l.PredictEnd(new Dictionary<string, double>());
            });
            T("NaN check", () => { using var s = torch.NewDisposeScope(); _ = x.sum(ScalarType.Float64).isnan().item<bool>(); });
            T("scope+no_grad+narrow+detach.cpu+alias", () =>
            {
                Tensor r;
                using (var s = torch.NewDisposeScope())
                {
                    using var g = torch.no_grad();
                    var n = x.narrow(0, 0, 1);
                    r = n.detach().cpu().DetachFromDisposeScope();
                }
                r.alias().Dispose();
                r.Dispose();
            });
            T("x.ToTensors + check", () => { using var s = torch.NewDisposeScope(); ((ArrayLike)x).ToTensors([], "x", new List<Tensor>()); });
            if (cell == CellType.Lstm)
            {
                T("FusedRnn.Lstm no_grad", () =>
                {
                    using var s = torch.NewDisposeScope();
                    using var g = torch.no_grad();
                    FusedRnn.Lstm(x, torch.zeros(1, 256), torch.zeros(1, 256), FusedRnn.LstmParameters(kv, rkv, bv, cache), null, false);
                });
                T("LstmParams no_grad", () =>
                {
                    using var s = torch.NewDisposeScope();
                    using var g = torch.no_grad();
                    FusedRnn.LstmParams(kernel, rk, bias);
                });
                T("RecurrentKernels.Run Lstm no_grad", () =>
                {
                    using var s = torch.NewDisposeScope();
                    using var g = torch.no_grad();
                    RecurrentKernels.Run(RecurrentCell.Lstm, x, [torch.zeros(1, 256), torch.zeros(1, 256)], kernel, rk, bias, null);
                });
            }
            else
            {
                T("RecurrentKernels.Run Gru no_grad", () =>
                {
                    using var s = torch.NewDisposeScope();
                    using var g = torch.no_grad();
                    RecurrentKernels.Run(RecurrentCell.GruResetAfter, x, [torch.zeros(1, 256)], kernel, rk, bias, null);
                });
                T("FusedRnn.Gru no_grad", () =>
                {
                    using var s = torch.NewDisposeScope();
                    using var g = torch.no_grad();
                    FusedRnn.Gru(x, torch.zeros(1, 256), FusedRnn.GruParameters(kv, rkv, bv, cache), null, false);
                });
            }
            Harness.RoundRobin(pieces, options.Quick, 10, cell.ToString());
        }
    }
}
