using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using PureHDF;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Saving;

/// <summary>
/// The integration hooks through which the optimizer's state reaches `/optimizer/vars` (Keras'
/// `BaseOptimizer.save_own_variables`: `optimizer.variables` as "0", "1", ... with their own dtypes) and comes back.
/// A stand-in optimizer state is used here; the real optimizer wires the same hooks.
/// </summary>
public class OptimizerHookTests : SavingTestBase
{
    private static Sequential Build() => new(new InputLayer([3]), new Dense(2));

    private static List<(string Path, Tensor Value)> State(long iterations, float learningRate, float slotValue) =>
    [
        ("adam/iteration", torch.tensor(iterations)),
        ("adam/learning_rate", torch.tensor(learningRate)),
        ("adam/dense_kernel_momentum", torch.full([3, 2], slotValue)),
        ("adam/dense_bias_momentum", torch.full([2], slotValue)),
    ];

    [Fact]
    public void CompiledModelWritesAndRestoresOptimizerVariables()
    {
        var source = Build();
        var sourceState = State(7, 0.001f, 0.25f);
        var target = Build();
        var targetState = State(0, 0.5f, 0f);
        SavingHooks.OptimizerVariables = m => ReferenceEquals(m, source) ? sourceState : ReferenceEquals(m, target) ? targetState : null;
        SavingHooks.OptimizerName = _ => "adam";

        var path = PathOf("compiled.weights.h5");
        source.SaveWeights(path);
        var contents = H5Contents.Describe(path);
        Assert.Contains("optimizer/vars/0 () FixedPoint64", contents);  // iterations: int64 scalar
        Assert.Contains("optimizer/vars/1 () FloatingPoint32", contents); // learning rate
        Assert.Contains("optimizer/vars/2 (3, 2) FloatingPoint32", contents);
        Assert.Contains("optimizer/vars/3 (2) FloatingPoint32", contents);
        Assert.Equal("adam", H5Contents.NameAttribute(path, "optimizer/vars"));

        target.LoadWeights(path);
        Assert.Equal(7L, targetState[0].Value.item<long>());
        Assert.Equal(0.001f, targetState[1].Value.item<float>());
        Assert.Equal(0.25f, targetState[2].Value[1, 1].item<float>());
        Assert.Equal(source.GetWeights()[0], target.GetWeights()[0]);
    }

    [Fact]
    public void OptimizerCountMismatchWarnsAndSkipsLikeKeras()
    {
        var source = Build();
        var sourceState = State(3, 0.01f, 1f);
        var target = Build();
        var unbuiltState = new List<(string Path, Tensor Value)>(); // optimizer not built yet: no variables
        SavingHooks.OptimizerVariables = m => ReferenceEquals(m, source) ? sourceState : unbuiltState;
        var path = PathOf("compiled.weights.h5");
        source.SaveWeights(path);
        var log = CaptureLog();

        target.LoadWeights(path); // the model's weights load; the optimizer state is skipped with a warning

        Assert.Equal(source.GetWeights()[0], target.GetWeights()[0]);
        var warning = Assert.Single(log);
        Assert.Contains("optimizer", warning);
        Assert.Contains("0 variables", warning);
        Assert.Contains("4", warning);
    }

    [Fact]
    public void AssignHookReceivesTheFileValuesInOrder()
    {
        var source = Build();
        var sourceState = State(11, 0.002f, 0.5f);
        var target = Build();
        SavingHooks.OptimizerVariables = m => ReferenceEquals(m, source) ? sourceState : State(0, 0f, 0f);
        var path = PathOf("compiled.weights.h5");
        source.SaveWeights(path);
        long? iterations = null;
        float? slot = null;
        SavingHooks.AssignOptimizerVariables = (m, values) =>
        {
            Assert.Same(target, m);
            Assert.Equal(4, values.Count);
            iterations = values[0].item<long>();
            slot = values[3][0].item<float>();
        };
        target.LoadWeights(path);
        Assert.Equal(11L, iterations);
        Assert.Equal(0.5f, slot);
    }

    [Fact]
    public void UncompiledModelWritesNoOptimizerGroup()
    {
        var path = PathOf("plain.weights.h5");
        Build().SaveWeights(path);
        Assert.DoesNotContain(H5Contents.Describe(path), p => p.StartsWith("optimizer", StringComparison.Ordinal));
    }
}
