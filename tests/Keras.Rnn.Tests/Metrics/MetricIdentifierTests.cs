using Keras.Rnn.Metrics;
using Xunit;

namespace Keras.Rnn.Tests.Metrics;

/// <summary>Keras metric identifiers (keras/src/metrics/__init__.py, named after the identifier as
/// compile_utils.get_metric does) and configs.</summary>
public class MetricIdentifierTests
{
    [Theory]
    [InlineData("mae", typeof(MeanAbsoluteError))]
    [InlineData("mean_absolute_error", typeof(MeanAbsoluteError))]
    [InlineData("MeanAbsoluteError", typeof(MeanAbsoluteError))]
    [InlineData("mse", typeof(MeanSquaredError))]
    [InlineData("MSE", typeof(MeanSquaredError))]
    [InlineData("root_mean_squared_error", typeof(RootMeanSquaredError))]
    [InlineData("mape", typeof(MeanAbsolutePercentageError))]
    [InlineData("msle", typeof(MeanSquaredLogarithmicError))]
    [InlineData("auc", typeof(AUC))]
    [InlineData("AUC", typeof(AUC))]
    [InlineData("precision", typeof(Precision))]
    [InlineData("recall", typeof(Recall))]
    [InlineData("binary_accuracy", typeof(BinaryAccuracy))]
    [InlineData("categorical_accuracy", typeof(CategoricalAccuracy))]
    [InlineData("sparse_categorical_accuracy", typeof(SparseCategoricalAccuracy))]
    [InlineData("top_k_categorical_accuracy", typeof(TopKCategoricalAccuracy))]
    [InlineData("sparse_top_k_categorical_accuracy", typeof(SparseTopKCategoricalAccuracy))]
    [InlineData("binary_crossentropy", typeof(BinaryCrossentropy))]
    [InlineData("bce", typeof(BinaryCrossentropy))]
    [InlineData("categorical_crossentropy", typeof(CategoricalCrossentropy))]
    [InlineData("sparse_categorical_crossentropy", typeof(SparseCategoricalCrossentropy))]
    [InlineData("kl_divergence", typeof(KLDivergence))]
    [InlineData("poisson", typeof(Poisson))]
    [InlineData("hinge", typeof(Hinge))]
    [InlineData("squared_hinge", typeof(SquaredHinge))]
    [InlineData("categorical_hinge", typeof(CategoricalHinge))]
    [InlineData("cosine_similarity", typeof(CosineSimilarity))]
    [InlineData("log_cosh_error", typeof(LogCoshError))]
    [InlineData("mean", typeof(Mean))]
    [InlineData("sum", typeof(Sum))]
    public void Get_ResolvesKerasIdentifiers_NamedAfterThem(string id, Type type)
    {
        var m = Metric.Get(id);
        Assert.IsType(type, m);
        Assert.Equal(id, m.Name);
        Metric converted = id;
        Assert.IsType(type, converted);
    }

    [Fact]
    public void Get_UnknownIdentifier_ListsKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => Metric.Get("f7_score"));
        Assert.Contains("f7_score", e.Message);
        Assert.Contains("sparse_top_k_categorical_accuracy", e.Message);
        Assert.Contains("auc", e.Message);
        // Keras 3 has no "rmse" alias.
        Assert.Throws<ArgumentException>(() => Metric.Get("rmse"));
    }

    [Fact]
    public void DefaultNames_AndConfigs()
    {
        Assert.Equal("binary_accuracy", new BinaryAccuracy().Name);
        Assert.StartsWith("auc", new AUC().Name);
        Assert.StartsWith("precision", new Precision().Name);
        var ba = new BinaryAccuracy(threshold: 0.3).GetConfig();
        Assert.Equal("binary_accuracy", ba["name"]);
        Assert.Equal("float32", ba["dtype"]);
        Assert.Equal(0.3, ba["threshold"]);
        Assert.Equal(5, new TopKCategoricalAccuracy().GetConfig()["k"]);
        var auc = new AUC(curve: "pr", name: "pr_auc").GetConfig();
        Assert.Equal("PR", auc["curve"]);
        Assert.Equal(200, auc["num_thresholds"]);
        Assert.Equal("interpolation", auc["summation_method"]);
        Assert.Equal(false, auc["multi_label"]);
        Assert.False(auc.ContainsKey("thresholds"));
        Assert.Equal(new[] { 0.5 }, (double[])new AUC(thresholds: [0.5]).GetConfig()["thresholds"]!);
        var p = new Precision(thresholds: [0.4, 0.9], topK: 15, classId: 12, name: "my_precision").GetConfig();
        Assert.Equal("my_precision", p["name"]);
        Assert.Equal(new[] { 0.4, 0.9 }, (double[])p["thresholds"]!);
        Assert.Equal(15, p["top_k"]);
        Assert.Equal(12, p["class_id"]);
        Assert.Null(new Recall().GetConfig()["thresholds"]);
    }
}
