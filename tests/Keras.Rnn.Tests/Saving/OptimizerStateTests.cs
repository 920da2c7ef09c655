using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using PureHDF;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// The optimizer's state in `/optimizer/vars` (Keras' `BaseOptimizer.save_own_variables`: `optimizer.variables` as
/// "0", "1", ... with their own dtypes — int64 iteration, float32 learning rate and slots) and back.
/// </summary>
public class OptimizerStateTests : SavingTestBase
{
    private static Sequential Build(Keras.Rnn.Optimizers.Optimizer optimizer)
    {
        KerasApi.SetRandomSeed(5);
        var model = new Sequential(new InputLayer([3]), new Dense(2));
        model.Compile(optimizer: optimizer, loss: "mse");
        return model;
    }

    private static readonly float[,] X = { { 1, 2, 3 }, { -1, 0, 1 } };
    private static readonly float[,] Y = { { 1, 0 }, { 0, 1 } };

    [Fact]
    public void CompiledModelWritesAndRestoresOptimizerVariablesAndResumesTraining()
    {
        var source = Build(new Keras.Rnn.Optimizers.Adam(learningRate: 0.01));
        source.TrainOnBatch(X, Y);
        source.TrainOnBatch(X, Y);
        var path = PathOf("compiled.weights.h5");
        source.SaveWeights(path);
        var contents = H5Contents.Describe(path);
        Assert.Contains("optimizer/vars/0 () FixedPoint64", contents);   // iteration: int64 scalar
        Assert.Contains("optimizer/vars/1 () FloatingPoint32", contents); // learning rate
        Assert.Contains("optimizer/vars/2 (3, 2) FloatingPoint32", contents); // first slot: kernel momentum
        Assert.Equal(source.Optimizer!.Name, H5Contents.NameAttribute(path, "optimizer/vars"));

        var target = Build(new Keras.Rnn.Optimizers.Adam(learningRate: 0.01));
        target.LoadWeights(path);
        Assert.Equal(2, target.Optimizer!.Iterations);
        for (int i = 0; i < source.Optimizer.Variables.Count; i++)
            Assert.True(source.Optimizer.Variables[i].Value.cpu().allclose(target.Optimizer.Variables[i].Value.cpu(), rtol: 0, atol: 0));

        // The next step is identical: training resumes exactly where it stopped.
        var a = source.TrainOnBatch(X, Y)["loss"];
        var b = target.TrainOnBatch(X, Y)["loss"];
        Assert.Equal(a, b);
        Assert.Equal(source.GetWeights()[0], target.GetWeights()[0]);
    }

    [Fact]
    public void OptimizerCountMismatchWarnsAndSkipsLikeKeras()
    {
        var source = Build(new Keras.Rnn.Optimizers.Adam());
        source.TrainOnBatch(X, Y);
        var path = PathOf("compiled.weights.h5");
        source.SaveWeights(path);
        var target = Build(new Keras.Rnn.Optimizers.SGD());
        var log = CaptureLog();

        target.LoadWeights(path); // the model's weights load; the optimizer state is skipped with a warning

        Assert.Equal(source.GetWeights()[0], target.GetWeights()[0]);
        var warning = Assert.Single(log);
        Assert.Contains("optimizer", warning);
    }

    [Fact]
    public void UncompiledModelWritesNoOptimizerGroup()
    {
        var path = PathOf("plain.weights.h5");
        new Sequential(new InputLayer([3]), new Dense(2)).SaveWeights(path);
        Assert.DoesNotContain(H5Contents.Describe(path), p => p.StartsWith("optimizer", StringComparison.Ordinal));
    }
}
