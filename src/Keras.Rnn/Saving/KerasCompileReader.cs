using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Losses;
using Keras.Rnn.Metrics;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;

namespace Keras.Rnn.Saving;

/// <summary>
/// Compiles a model from Keras 3's <c>compile_config</c> (<c>Model.compile_from_config</c>: the <c>compile</c>
/// arguments as serialized — optimizer object, loss and metrics as names, objects, lists or dicts per output,
/// <c>loss_weights</c>, <c>weighted_metrics</c>) or from Keras 2's <c>training_config</c> of legacy <c>.h5</c> files
/// (<c>optimizer_config</c>, <c>loss</c>, <c>metrics</c>, <c>loss_weights</c>, <c>weighted_metrics</c>).
/// </summary>
internal static class KerasCompileReader
{
    /// <summary>Keras 3's <c>compile_from_config</c>.</summary>
    public static void CompileFromConfig(Model model, JsonObject config, KerasLoadContext ctx, string location)
    {
        var previousHint = ctx.Hint;
        ctx.Hint = "To load the model without its training configuration, pass compile: false and call Compile yourself.";
        try
        {
            CompileFromConfigCore(model, config, ctx, location);
        }
        finally
        {
            ctx.Hint = previousHint;
        }
    }

    private static void CompileFromConfigCore(Model model, JsonObject config, KerasLoadContext ctx, string location)
    {
        var args = new ConfigArgs(config, $"compile config of model '{model.Name}'", location, ctx);
        var optimizerNode = args.Node("optimizer");
        var optimizer = optimizerNode is null ? null : KerasObjectsReader.Optimizer(optimizerNode, ctx, args.PathOf("optimizer"));
        var loss = args.Node("loss");
        var metrics = args.Node("metrics");
        var weighted = args.Node("weighted_metrics");
        var lossWeights = args.Node("loss_weights");
        args.Ignore("run_eagerly", "jit_compile");
        model.AutoScaleLoss = args.Bool("auto_scale_loss", true);
        var steps = args.Node("steps_per_execution");
        if (steps is not null && ConfigArgs.AsLong(steps) is not 1)
            KerasConfig.Log($"{ctx.Source}: compile argument steps_per_execution={steps.ToJsonString()} is ignored (one batch per step).");
        args.Finish();
        // Keras deserializes a saved LossScaleOptimizer as one, whatever the global policy at load time.
        model.ScalesLossFromConfig = ctx.LossScaleOptimizer;
        Compile(model, optimizer, loss, metrics, weighted, lossWeights, ctx, location);
    }

    /// <summary>Keras 2's <c>training_config</c> (legacy <c>.h5</c> files): <c>optimizer_config</c>, <c>loss</c>,
    /// <c>metrics</c>, <c>weighted_metrics</c>, <c>loss_weights</c> (<c>sample_weight_mode</c> is ignored).</summary>
    public static void CompileFromTrainingConfig(Model model, JsonObject config, KerasLoadContext ctx, string location)
    {
        var previousHint = ctx.Hint;
        ctx.Hint = "To load the model without its training configuration, pass compile: false and call Compile yourself.";
        try
        {
            CompileFromTrainingConfigCore(model, config, ctx, location);
        }
        finally
        {
            ctx.Hint = previousHint;
        }
    }

    private static void CompileFromTrainingConfigCore(Model model, JsonObject config, KerasLoadContext ctx, string location)
    {
        var args = new ConfigArgs(config, $"training config of model '{model.Name}'", location, ctx);
        var optimizerNode = args.Node("optimizer_config");
        var optimizer = optimizerNode is null ? null : KerasObjectsReader.Optimizer(optimizerNode, ctx, args.PathOf("optimizer_config"));
        var loss = args.Node("loss");
        var metrics = args.Node("metrics");
        var weighted = args.Node("weighted_metrics");
        var lossWeights = args.Node("loss_weights");
        args.Ignore("sample_weight_mode", "run_eagerly", "steps_per_execution", "jit_compile");
        args.Finish();
        Compile(model, optimizer, loss, metrics, weighted, lossWeights, ctx, location);
    }

    private static bool IsSerializedObject(JsonNode? n) => n is JsonObject o && o.ContainsKey("class_name");

    private static void Compile(Model model, Optimizer? optimizer, JsonNode? lossNode, JsonNode? metricsNode, JsonNode? weightedNode,
        JsonNode? lossWeightsNode, KerasLoadContext ctx, string location)
    {
        var outputNames = model.Outputs.Count > 0 ? model.OutputNames : [model.Name + "_output"];
        int outputs = outputNames.Count;
        Loss? SingleLoss(JsonNode? n, string loc) => n is null ? null : KerasObjectsReader.Loss(n, ctx, loc);
        List<Metric> MetricList(JsonNode? n, string loc)
        {
            if (n is null) return [];
            if (n is JsonArray a)
                return a.Select((m, i) => m is null ? null : KerasObjectsReader.Metric(m, ctx, $"{loc}[{i}]")).OfType<Metric>().ToList();
            return [KerasObjectsReader.Metric(n, ctx, loc)];
        }
        bool NestedMetrics(JsonNode? n) => n is JsonArray a && a.Any(m => m is JsonArray || m is JsonObject o && !o.ContainsKey("class_name"));

        try
        {
            if (lossNode is JsonObject lossDict && !IsSerializedObject(lossDict))
            {
                // Per output by name.
                var losses = lossDict.ToDictionary(kv => kv.Key, kv => SingleLoss(kv.Value, $"{location}.loss.{kv.Key}"));
                Dictionary<string, IEnumerable<Metric>>? metrics = null;
                if (metricsNode is JsonObject metricDict && !IsSerializedObject(metricDict))
                    metrics = metricDict.ToDictionary(kv => kv.Key, kv => (IEnumerable<Metric>)MetricList(kv.Value, $"{location}.metrics.{kv.Key}"));
                else if (metricsNode is not null)
                    metrics = outputNames.ToDictionary(n => n, n => (IEnumerable<Metric>)MetricList(metricsNode, $"{location}.metrics"));
                Dictionary<string, double>? weights = null;
                if (lossWeightsNode is JsonObject wd)
                    weights = wd.ToDictionary(kv => kv.Key, kv => ConfigArgs.AsDouble(kv.Value)
                        ?? throw ctx.Error($"{location}.loss_weights.{kv.Key}", $"expected a number, found {KerasJson.Describe(kv.Value)}."));
                else if (lossWeightsNode is not null)
                    throw ctx.Error(location + ".loss_weights", $"with losses given per output name, loss_weights must be a dict too, found {KerasJson.Describe(lossWeightsNode)}.");
                model.Compile(optimizer, losses, metrics, weights);
                return;
            }

            var weightList = lossWeightsNode switch
            {
                null => null,
                JsonArray wa => wa.Select((w, i) => ConfigArgs.AsDouble(w)
                    ?? throw ctx.Error($"{location}.loss_weights[{i}]", $"expected a number, found {KerasJson.Describe(w)}.")).ToList(),
                JsonObject wd => outputNames.Select(n => wd[n] is { } w ? ConfigArgs.AsDouble(w) ?? 1.0 : 1.0).ToList(),
                _ => ConfigArgs.AsDouble(lossWeightsNode) is { } single ? [single]
                    : throw ctx.Error(location + ".loss_weights", $"expected a number, a list or a dict, found {KerasJson.Describe(lossWeightsNode)}."),
            };

            if (lossNode is JsonArray lossArray || NestedMetrics(metricsNode) || metricsNode is JsonObject { } md && !IsSerializedObject(md))
            {
                // One loss (and metric list) per output, in order.
                List<Loss?> losses = lossNode is JsonArray la
                    ? la.Select((l, i) => SingleLoss(l, $"{location}.loss[{i}]")).ToList()
                    : Enumerable.Range(0, outputs).Select(_ => SingleLoss(lossNode, $"{location}.loss")).ToList();
                List<IEnumerable<Metric>?>? metricLists = metricsNode switch
                {
                    null => null,
                    JsonArray ma when NestedMetrics(ma) => ma.Select((m, i) => (IEnumerable<Metric>?)MetricList(m, $"{location}.metrics[{i}]")).ToList(),
                    JsonObject mo when !IsSerializedObject(mo) => outputNames.Select(n => (IEnumerable<Metric>?)MetricList(mo[n], $"{location}.metrics.{n}")).ToList(),
                    _ => Enumerable.Range(0, outputs).Select(_ => (IEnumerable<Metric>?)MetricList(metricsNode, $"{location}.metrics")).ToList(),
                };
                model.Compile(optimizer, losses, metricLists, weightList);
                return;
            }

            model.Compile(optimizer, SingleLoss(lossNode, $"{location}.loss"), MetricList(metricsNode, $"{location}.metrics"), weightList,
                MetricList(weightedNode, $"{location}.weighted_metrics"));
        }
        catch (ArgumentException e) when (e is not KerasConfigArgumentException)
        {
            throw ctx.Error(location, $"compiling model '{model.Name}' failed: {e.Message}", e);
        }
    }
}
