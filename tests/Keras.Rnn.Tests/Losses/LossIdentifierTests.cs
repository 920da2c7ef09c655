using Keras.Rnn.Losses;
using TorchSharp;
using Xunit;
using static Keras.Rnn.Tests.Losses.TT;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Losses;

/// <summary>Keras identifiers (keras/src/losses/__init__.py), compile-time "crossentropy" resolution
/// (keras/src/trainers/compile_utils.py get_loss) and configs.</summary>
public class LossIdentifierTests
{
    [Theory]
    [InlineData("mse", typeof(MeanSquaredError), "mse")]
    [InlineData("MSE", typeof(MeanSquaredError), "MSE")]
    [InlineData("mean_squared_error", typeof(MeanSquaredError), "mean_squared_error")]
    [InlineData("MeanSquaredError", typeof(MeanSquaredError), "mean_squared_error")]
    [InlineData("mae", typeof(MeanAbsoluteError), "mae")]
    [InlineData("mape", typeof(MeanAbsolutePercentageError), "mape")]
    [InlineData("msle", typeof(MeanSquaredLogarithmicError), "msle")]
    [InlineData("huber", typeof(Huber), "huber")]
    [InlineData("Huber", typeof(Huber), "huber_loss")]
    [InlineData("log_cosh", typeof(LogCosh), "log_cosh")]
    [InlineData("LogCosh", typeof(LogCosh), "log_cosh")]
    [InlineData("binary_crossentropy", typeof(BinaryCrossentropy), "binary_crossentropy")]
    [InlineData("bce", typeof(BinaryCrossentropy), "bce")]
    [InlineData("categorical_crossentropy", typeof(CategoricalCrossentropy), "categorical_crossentropy")]
    [InlineData("SparseCategoricalCrossentropy", typeof(SparseCategoricalCrossentropy), "sparse_categorical_crossentropy")]
    [InlineData("kl_divergence", typeof(KLDivergence), "kl_divergence")]
    [InlineData("kld", typeof(KLDivergence), "kld")]
    [InlineData("KLDivergence", typeof(KLDivergence), "kl_divergence")]
    [InlineData("hinge", typeof(Hinge), "hinge")]
    [InlineData("squared_hinge", typeof(SquaredHinge), "squared_hinge")]
    [InlineData("categorical_hinge", typeof(CategoricalHinge), "categorical_hinge")]
    [InlineData("poisson", typeof(Poisson), "poisson")]
    [InlineData("cosine_similarity", typeof(CosineSimilarity), "cosine_similarity")]
    public void Get_ResolvesKerasIdentifiers(string id, Type type, string name)
    {
        var loss = Loss.Get(id);
        Assert.IsType(type, loss);
        Assert.Equal(name, loss.Name);
        Assert.Equal("sum_over_batch_size", loss.Reduction);
        Loss converted = id;
        Assert.IsType(type, converted);
    }

    [Fact]
    public void Get_UnknownIdentifier_ListsKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => Loss.Get("mean_cubed_error"));
        Assert.Contains("mean_cubed_error", e.Message);
        Assert.Contains("sparse_categorical_crossentropy", e.Message);
        Assert.Contains("huber", e.Message);
    }

    [Theory]
    [InlineData(new long[] { 4, 1 }, new long[] { 4, 1 }, typeof(BinaryCrossentropy))]
    [InlineData(new long[] { 4 }, new long[] { 4, 1 }, typeof(BinaryCrossentropy))]
    [InlineData(new long[] { 4, 6, 1 }, new long[] { 4, 6, 1 }, typeof(BinaryCrossentropy))]
    [InlineData(new long[] { 4 }, new long[] { 4, 5 }, typeof(SparseCategoricalCrossentropy))]
    [InlineData(new long[] { 4, 1 }, new long[] { 4, 5 }, typeof(SparseCategoricalCrossentropy))]
    [InlineData(new long[] { 4, 6 }, new long[] { 4, 6, 5 }, typeof(SparseCategoricalCrossentropy))]
    [InlineData(new long[] { 4, 5 }, new long[] { 4, 5 }, typeof(CategoricalCrossentropy))]
    public void Crossentropy_ResolvesFromShapes_LikeCompileUtils(long[] yTrue, long[] yPred, Type expected)
    {
        foreach (var id in new[] { "crossentropy", "ce" })
        {
            var placeholder = Loss.Get(id);
            var resolved = Loss.Resolve(placeholder, yTrue, yPred);
            Assert.IsType(expected, resolved);
            Assert.Equal(id, resolved.Name);
        }
        var mse = new MeanSquaredError();
        Assert.Same(mse, Loss.Resolve(mse, yTrue, yPred));
    }

    [Fact]
    public void Crossentropy_Placeholder_ResolvesItselfAtFirstCall()
    {
        Loss loss = "crossentropy";
        var p = F([2, 3], 0.05, 0.95, 0, 0.1, 0.8, 0.1);
        Near(1.177, S(loss.Compute(I([2], 1, 2), p)), 1e-3);
        Assert.Equal("SparseCategoricalCrossentropy", loss.ClassName);
    }

    [Fact]
    public void Configs_UseKerasKeys()
    {
        var bce = new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.1, name: "bce");
        var c = bce.GetConfig();
        Assert.Equal("bce", c["name"]);
        Assert.Equal("sum_over_batch_size", c["reduction"]);
        Assert.Equal(true, c["from_logits"]);
        Assert.Equal(0.1, c["label_smoothing"]);
        Assert.Equal(-1, c["axis"]);
        Assert.Equal("BinaryCrossentropy", bce.ClassName);

        var scce = new SparseCategoricalCrossentropy(ignoreClass: 0, reduction: "sum").GetConfig();
        Assert.Equal(false, scce["from_logits"]);
        Assert.Equal(0, scce["ignore_class"]);
        Assert.Equal("sum", scce["reduction"]);

        var mse = new MeanSquaredError(reduction: "none", name: "m").GetConfig();
        Assert.Equal(["name", "reduction"], mse.Keys.OrderBy(k => k).ToArray());
        Assert.Equal("none", mse["reduction"]);
        Assert.Equal(0.5, new Huber(delta: 0.5).GetConfig()["delta"]);
    }
}
