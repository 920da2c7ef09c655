using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Losses;
using Keras.Rnn.Metrics;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Optimizers.Schedules;
using Keras.Rnn.Regularizers;
using Keras.Rnn.Utils;

namespace Keras.Rnn.Saving;

/// <summary>
/// Rebuilds Keras' non-layer objects from their serialized form: activations (names or Keras 3's
/// <c>{"class_name": "function"}</c> objects; <c>hard_sigmoid</c> in Keras 2's form for configs written by Keras 1
/// and 2), initializers, regularizers, constraints, learning-rate schedules, optimizers, losses and metrics — as
/// identifiers or as <c>{class_name, config}</c> objects (Keras 3 adds <c>module</c> and <c>registered_name</c>).
/// Object configs are bound to the class's constructor by argument name (Keras' snake_case names); unknown arguments
/// are rejected unless inactive (<c>null</c>/<c>false</c>) or known to be ignored by Keras.
/// </summary>
internal static class KerasObjectsReader
{
    // ------------------------------------------------------------------ activations

    /// <summary>An activation from a name or a serialized function.</summary>
    public static ActivationFunction Activation(JsonNode node, ConfigArgs args, string key)
    {
        var ctx = args.Context;
        string name;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            name = v.GetValue<string>();
        }
        else if (node is JsonObject o && o["class_name"] is JsonValue cn && cn.GetValueKind() == JsonValueKind.String)
        {
            var className = cn.GetValue<string>();
            var registered = o["registered_name"] is JsonValue rn && rn.GetValueKind() == JsonValueKind.String ? rn.GetValue<string>() : null;
            if (className == "function")
            {
                if (o["config"] is not JsonValue fn || fn.GetValueKind() != JsonValueKind.String)
                    throw args.Bad(key, "an activation name or a serialized function {\"class_name\": \"function\", \"config\": \"<name>\"}", node);
                if (registered is not null && KerasObjects.FindActivation(registered) is { } custom) return custom;
                name = fn.GetValue<string>();
            }
            else
            {
                if (KerasObjects.FindActivation(registered ?? className) is { } custom) return custom;
                throw args.Context.Error(args.PathOf(key),
                    $"{args.Owner}: the activation object of class '{className}' is not supported; use an activation name, or register it with KerasObjects.RegisterActivation(\"{registered ?? className}\", ...).");
            }
        }
        else
        {
            throw args.Bad(key, "an activation name or a serialized function", node);
        }

        if (KerasObjects.FindActivation(name) is { } registeredFn) return registeredFn;
        // hard_sigmoid changed meaning in Keras 3: Keras 1 and 2 define it as clip(0.2x + 0.5, 0, 1).
        if (Naming.NormalizeIdentifier(name) == "hard_sigmoid" && ctx.IsLegacy) return ActivationFunction.HardSigmoidKeras2;
        try
        {
            return ActivationFunction.Get(name);
        }
        catch (ArgumentException e)
        {
            throw ctx.Error(args.PathOf(key), $"{args.Owner}: {e.Message} A custom activation can be registered with KerasObjects.RegisterActivation(\"{name}\", fn).");
        }
    }

    // ------------------------------------------------------------------ type tables

    private static readonly Lazy<Dictionary<string, Type>> InitializerTypes = new(() => TypesDerivedFrom(typeof(Initializer)));
    private static readonly Lazy<Dictionary<string, Type>> RegularizerTypes = new(() => TypesDerivedFrom(typeof(Regularizer)));
    private static readonly Lazy<Dictionary<string, Type>> ConstraintTypes = new(() => TypesDerivedFrom(typeof(Constraint)));
    private static readonly Lazy<Dictionary<string, Type>> ScheduleTypes = new(() => TypesDerivedFrom(typeof(LearningRateSchedule)));
    private static readonly Lazy<Dictionary<string, Type>> OptimizerTypes = new(() => TypesDerivedFrom(typeof(Optimizer)));
    private static readonly Lazy<Dictionary<string, Type>> LossTypes = new(() => TypesDerivedFrom(typeof(Loss)));
    private static readonly Lazy<Dictionary<string, Type>> MetricTypes = new(() => TypesDerivedFrom(typeof(Metric)));

    /// <summary>Public concrete types of our assembly derived from <paramref name="baseType"/>, by class name and snake_case name.</summary>
    private static Dictionary<string, Type> TypesDerivedFrom(Type baseType)
    {
        var result = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach (var t in baseType.Assembly.GetTypes())
        {
            if (!t.IsPublic || t.IsAbstract || !baseType.IsAssignableFrom(t)) continue;
            if (t.GetConstructors().Length == 0) continue;
            result[t.Name] = t;
        }
        foreach (var (name, t) in result.ToList()) result.TryAdd(Naming.ToSnakeCase(name), t);
        return result;
    }

    private static Type? FindType(Lazy<Dictionary<string, Type>> table, string className)
    {
        if (table.Value.TryGetValue(className, out var t)) return t;
        return table.Value.TryGetValue(Naming.NormalizeIdentifier(className), out t) ? t : null;
    }

    /// <summary>The parts of a serialized object: <c>class_name</c>, <c>config</c> (an object; <c>{}</c> when null) and <c>registered_name</c>.</summary>
    private static (string ClassName, JsonObject Config, string? RegisteredName) SplitObject(JsonObject o, KerasLoadContext ctx, string location, string what)
    {
        if (o["class_name"] is not JsonValue cn || cn.GetValueKind() != JsonValueKind.String)
            throw ctx.Error(location, $"{what}: expected a serialized Keras object with a string 'class_name', found {KerasJson.Describe(o)}.");
        var config = o["config"] switch
        {
            null => new JsonObject(),
            JsonObject c => c,
            var other => throw ctx.Error(location + ".config", $"{what} '{cn.GetValue<string>()}': expected 'config' to be an object, found {KerasJson.Describe(other)}."),
        };
        var registered = o["registered_name"] is JsonValue rn && rn.GetValueKind() == JsonValueKind.String ? rn.GetValue<string>() : null;
        return (cn.GetValue<string>(), config, registered);
    }

    // ------------------------------------------------------------------ initializers, regularizers, constraints

    /// <summary>An initializer from an identifier or a serialized object.</summary>
    public static Initializer Initializer(JsonNode node, KerasLoadContext ctx, string location, string owner)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                return Initializers.Initializer.Get(v.GetValue<string>());
            }
            catch (ArgumentException e)
            {
                throw ctx.Error(location, $"{owner}: {e.Message}");
            }
        }
        if (node is not JsonObject o) throw ctx.Error(location, $"{owner}: expected an initializer (a name or a serialized object), found {KerasJson.Describe(node)}.");
        var (className, config, _) = SplitObject(o, ctx, location, $"{owner}: initializer");
        var type = FindType(InitializerTypes, className)
            ?? throw ctx.Error(location, $"{owner}: unknown initializer class '{className}'. Known: {string.Join(", ", InitializerTypes.Value.Keys.Where(k => char.IsUpper(k[0])).Order())}.");
        var args = new ConfigArgs(config, $"{owner}: initializer {className}", location + ".config", ctx);
        return (Initializer)Bind(type, args, ignore: ["input_axes", "output_axes"]);
    }

    /// <summary>A regularizer from an identifier or a serialized object (Keras 1's <c>{"name": "WeightRegularizer", "l1", "l2"}</c> too).</summary>
    public static Regularizer Regularizer(JsonNode node, KerasLoadContext ctx, string location, string owner)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                return Regularizers.Regularizer.Get(v.GetValue<string>());
            }
            catch (ArgumentException e)
            {
                throw ctx.Error(location, $"{owner}: {e.Message}");
            }
        }
        if (node is not JsonObject o) throw ctx.Error(location, $"{owner}: expected a regularizer (a name or a serialized object), found {KerasJson.Describe(node)}.");
        if (!o.ContainsKey("class_name") && o["name"] is JsonValue legacyName && legacyName.GetValueKind() == JsonValueKind.String)
        {
            // Keras 1: {"name": "WeightRegularizer", "l1": 0.0, "l2": 0.01}.
            var legacy = new ConfigArgs(o, $"{owner}: regularizer {legacyName.GetValue<string>()}", location, ctx);
            legacy.Ignore("name");
            var r = new L1L2(legacy.Double("l1", 0.0), legacy.Double("l2", 0.0));
            legacy.Finish();
            return r;
        }
        var (className, config, _) = SplitObject(o, ctx, location, $"{owner}: regularizer");
        var type = FindType(RegularizerTypes, className)
            ?? throw ctx.Error(location, $"{owner}: unknown regularizer class '{className}'. Known: L1, L2, L1L2.");
        return (Regularizer)Bind(type, new ConfigArgs(config, $"{owner}: regularizer {className}", location + ".config", ctx));
    }

    /// <summary>A constraint from an identifier or a serialized object.</summary>
    public static Constraint Constraint(JsonNode node, KerasLoadContext ctx, string location, string owner)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                return Constraints.Constraint.Get(v.GetValue<string>());
            }
            catch (ArgumentException e)
            {
                throw ctx.Error(location, $"{owner}: {e.Message}");
            }
        }
        if (node is not JsonObject o) throw ctx.Error(location, $"{owner}: expected a constraint (a name or a serialized object), found {KerasJson.Describe(node)}.");
        var (className, config, _) = SplitObject(o, ctx, location, $"{owner}: constraint");
        var type = FindType(ConstraintTypes, className)
            ?? throw ctx.Error(location, $"{owner}: unknown constraint class '{className}'. Known: MaxNorm, MinMaxNorm, NonNeg, UnitNorm.");
        return (Constraint)Bind(type, new ConfigArgs(config, $"{owner}: constraint {className}", location + ".config", ctx));
    }

    // ------------------------------------------------------------------ optimizers

    private static readonly Dictionary<string, string> OptimizerAliases = new() { ["beta1"] = "beta_1", ["beta2"] = "beta_2" };

    /// <summary>A learning-rate schedule from its serialized form.</summary>
    public static LearningRateSchedule Schedule(JsonObject o, KerasLoadContext ctx, string location, string owner)
    {
        var (className, config, _) = SplitObject(o, ctx, location, $"{owner}: learning-rate schedule");
        var type = FindType(ScheduleTypes, className)
            ?? throw ctx.Error(location,
                $"{owner}: unknown learning-rate schedule class '{className}'. Known: {string.Join(", ", ScheduleTypes.Value.Keys.Where(k => char.IsUpper(k[0])).Order())}.");
        return (LearningRateSchedule)Bind(type, new ConfigArgs(config, $"{owner}: schedule {className}", location + ".config", ctx));
    }

    /// <summary>
    /// An optimizer from an identifier (<c>"adam"</c>) or a serialized object, Keras 3's or Keras 2's (<c>lr</c> for
    /// <c>learning_rate</c>; <c>decay</c>, which Keras 3 no longer supports, is ignored with a warning when non-zero).
    /// </summary>
    public static Optimizer Optimizer(JsonNode node, KerasLoadContext ctx, string location)
    {
        const string owner = "optimizer";
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                return Optimizers.Optimizer.Get(v.GetValue<string>());
            }
            catch (ArgumentException e)
            {
                throw ctx.Error(location, $"{owner}: {e.Message}");
            }
        }
        if (node is not JsonObject o) throw ctx.Error(location, $"{owner}: expected an optimizer (a name or a serialized object), found {KerasJson.Describe(node)}.");
        var (className, config, _) = SplitObject(o, ctx, location, owner);
        if (className == "LossScaleOptimizer") return InnerOfLossScaleOptimizer(config, ctx, location);
        var type = FindType(OptimizerTypes, className)
            ?? throw ctx.Error(location, $"{owner}: unknown optimizer class '{className}'. Known: SGD, Adam, AdamW, RMSprop, Adagrad, Nadam.");
        var args = new ConfigArgs(config, $"optimizer {className}", location + ".config", ctx);
        args.Rename("lr", "learning_rate");
        if (args.Has("decay"))
        {
            var decay = args.Double("decay", 0.0);
            if (decay != 0.0)
                KerasConfig.Log($"{ctx.Source}: optimizer {className}: argument `decay`={decay} is no longer supported (as in Keras 3) and is ignored.");
        }
        // Keras 2 optimizer flags Keras 3 does not use.
        args.Ignore("is_legacy_optimizer", "jit_compile", "schedule_decay");
        if (args.Has("epsilon") && !args.HasValue("epsilon")) args.Raw.Remove("epsilon"); // Keras 2.0: epsilon=None means K.epsilon()
        return (Optimizer)Bind(type, args, OptimizerAliases);
    }

    /// <summary>
    /// Keras' <c>LossScaleOptimizer</c> (what Keras' <c>compile</c> puts around the optimizer of a
    /// <c>mixed_float16</c> model): its inner optimizer becomes the model's optimizer, and the model trains with
    /// dynamic loss scaling (<see cref="KerasLoadContext.LossScaleOptimizer"/>), which Keras.Rnn's trainer applies.
    /// </summary>
    private static Optimizer InnerOfLossScaleOptimizer(JsonObject config, KerasLoadContext ctx, string location)
    {
        var args = new ConfigArgs(config, "optimizer LossScaleOptimizer", location + ".config", ctx);
        var inner = args.Node("inner_optimizer")
                    ?? throw ctx.Error(location + ".config", "optimizer LossScaleOptimizer: 'inner_optimizer' is missing.");
        double initialScale = args.Double("initial_scale", Training.LossScaler.InitialScale);
        int growthSteps = args.Int("dynamic_growth_steps", Training.LossScaler.DefaultGrowthSteps, 1, int.MaxValue);
        if (initialScale != Training.LossScaler.InitialScale || growthSteps != Training.LossScaler.DefaultGrowthSteps)
            KerasConfig.Log($"{ctx.Source}: LossScaleOptimizer initial_scale={initialScale}, dynamic_growth_steps={growthSteps}: " +
                            "Keras.Rnn scales from 2^15 and doubles after 2000 finite steps.");
        ctx.LossScaleOptimizer = true;
        return Optimizer(inner, ctx, location + ".config.inner_optimizer");
    }

    // ------------------------------------------------------------------ losses and metrics

    /// <summary>A loss from an identifier or a serialized object (a class, or Keras 3's <c>{"class_name": "function"}</c>).</summary>
    public static Loss Loss(JsonNode node, KerasLoadContext ctx, string location)
    {
        const string owner = "loss";
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return LossByName(v.GetValue<string>(), ctx, location);
        if (node is not JsonObject o) throw ctx.Error(location, $"{owner}: expected a loss (a name or a serialized object), found {KerasJson.Describe(node)}.");
        var (className, config, _) = SplitObject(o, ctx, location, owner);
        if (className == "function")
        {
            var fn = o["config"] is JsonValue f && f.GetValueKind() == JsonValueKind.String ? f.GetValue<string>()
                : throw ctx.Error(location, $"{owner}: a serialized function needs its name as 'config', found {KerasJson.Describe(o["config"])}.");
            return LossByName(fn, ctx, location);
        }
        if (className == "LossFunctionWrapper")
        {
            var args = new ConfigArgs(config, "loss LossFunctionWrapper", location + ".config", ctx);
            var fnNode = args.Node("fn");
            var fnName = fnNode is JsonValue fv && fv.GetValueKind() == JsonValueKind.String ? fv.GetValue<string>()
                : fnNode is JsonObject fo && fo["config"] is JsonValue fc && fc.GetValueKind() == JsonValueKind.String ? fc.GetValue<string>()
                : throw args.Bad("fn", "the name of a loss function", fnNode);
            args.Ignore("name", "reduction", "dtype");
            args.Finish();
            return LossByName(fnName, ctx, location);
        }
        var type = FindType(LossTypes, className)
            ?? throw ctx.Error(location, $"{owner}: unknown loss class '{className}'.");
        var bound = new ConfigArgs(config, $"loss {className}", location + ".config", ctx);
        IgnoreFloat32DType(bound);
        return (Loss)Bind(type, bound);
    }

    private static Loss LossByName(string name, KerasLoadContext ctx, string location)
    {
        try
        {
            return Losses.Loss.Get(name);
        }
        catch (ArgumentException e)
        {
            throw ctx.Error(location, $"loss: {e.Message}");
        }
    }

    /// <summary>A metric from an identifier or a serialized object.</summary>
    public static Metric Metric(JsonNode node, KerasLoadContext ctx, string location)
    {
        const string owner = "metric";
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return MetricByName(v.GetValue<string>(), null, ctx, location);
        if (node is not JsonObject o) throw ctx.Error(location, $"{owner}: expected a metric (a name or a serialized object), found {KerasJson.Describe(node)}.");
        var (className, config, _) = SplitObject(o, ctx, location, owner);
        if (className == "function")
        {
            var fn = o["config"] is JsonValue f && f.GetValueKind() == JsonValueKind.String ? f.GetValue<string>()
                : throw ctx.Error(location, $"{owner}: a serialized function needs its name as 'config', found {KerasJson.Describe(o["config"])}.");
            return MetricByName(fn, null, ctx, location);
        }
        if (className == "MeanMetricWrapper")
        {
            var args = new ConfigArgs(config, "metric MeanMetricWrapper", location + ".config", ctx);
            var fnNode = args.Node("fn");
            var fnName = fnNode is JsonValue fv && fv.GetValueKind() == JsonValueKind.String ? fv.GetValue<string>()
                : fnNode is JsonObject fo && fo["config"] is JsonValue fc && fc.GetValueKind() == JsonValueKind.String ? fc.GetValue<string>()
                : throw args.Bad("fn", "the name of a metric function", fnNode);
            var name = args.String("name");
            IgnoreFloat32DType(args);
            args.Finish();
            return MetricByName(fnName, name, ctx, location);
        }
        var type = FindType(MetricTypes, className)
            ?? throw ctx.Error(location, $"{owner}: unknown metric class '{className}'.");
        var bound = new ConfigArgs(config, $"metric {className}", location + ".config", ctx);
        IgnoreFloat32DType(bound);
        return (Metric)Bind(type, bound);
    }

    private static Metric MetricByName(string fn, string? name, KerasLoadContext ctx, string location)
    {
        try
        {
            var m = Metrics.Metric.Get(fn);
            if (name is not null) m.Name = name;
            return m;
        }
        catch (ArgumentException e)
        {
            throw ctx.Error(location, $"metric: {e.Message}");
        }
    }

    /// <summary>Metrics and losses carry a <c>dtype</c>; we compute in float32, so a float dtype is accepted and ignored.</summary>
    private static void IgnoreFloat32DType(ConfigArgs args)
    {
        var node = args.Node("dtype");
        if (node is null) return;
        var name = node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
            : node is JsonObject o && o["config"] is JsonObject c && c["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>()
            : null;
        if (name is null || !(name.Contains("float", StringComparison.Ordinal)))
            throw args.Bad("dtype", "a floating-point dtype", node);
    }

    // ------------------------------------------------------------------ constructor binding

    /// <summary>
    /// Creates <paramref name="type"/> from its config: each constructor parameter takes the config value of its
    /// snake_case name (or the alias given), converted to the parameter's type; missing parameters keep their
    /// defaults. Unread config keys are then rejected (<see cref="ConfigArgs.Finish"/>).
    /// </summary>
    public static object Bind(Type type, ConfigArgs args, IReadOnlyDictionary<string, string>? aliases = null, string[]? ignore = null)
    {
        if (ignore is not null) args.Ignore(ignore);
        string KeyOf(ParameterInfo p) => aliases is not null && aliases.TryGetValue(p.Name!, out var a) ? a : Naming.ToSnakeCase(p.Name!);

        var constructors = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .Where(c => c.GetParameters().All(p => IsSupported(p.ParameterType)))
            .OrderByDescending(c => c.GetParameters().Count(p => args.Has(KeyOf(p))))
            .ThenByDescending(c => c.GetParameters().Length)
            .ToList();
        var ctor = constructors.FirstOrDefault(c => c.GetParameters().All(p => p.HasDefaultValue || args.HasValue(KeyOf(p))));
        if (ctor is null)
        {
            var best = constructors.FirstOrDefault();
            var missing = best?.GetParameters().Where(p => !p.HasDefaultValue && !args.HasValue(KeyOf(p))).Select(KeyOf).ToList() ?? [];
            throw args.Fail(best is null
                ? $"{type.Name} cannot be created from a config."
                : $"missing required argument(s) {string.Join(", ", missing.Select(m => $"'{m}'"))}.");
        }

        var parameters = ctor.GetParameters();
        var values = new object?[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var key = KeyOf(p);
            if (args.HasValue(key)) values[i] = Convert(args, key, p.ParameterType);
            else
            {
                args.Ignore(key);
                values[i] = p.HasDefaultValue ? p.DefaultValue : null;
                if (values[i] is null && p.ParameterType.IsValueType && Nullable.GetUnderlyingType(p.ParameterType) is null)
                    values[i] = Activator.CreateInstance(p.ParameterType);
            }
        }
        args.Finish();
        try
        {
            return ctor.Invoke(values);
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException or InvalidOperationException)
        {
            throw args.Fail(e.InnerException!.Message, e.InnerException);
        }
    }

    private static bool IsSupported(Type t)
    {
        var u = Nullable.GetUnderlyingType(t) ?? t;
        return u == typeof(int) || u == typeof(long) || u == typeof(double) || u == typeof(bool) || u == typeof(string)
               || u == typeof(double[]) || u == typeof(int[]) || u == typeof(IReadOnlyList<long>) || u == typeof(IReadOnlyList<double>)
               || u == typeof(IEnumerable<double>) || u == typeof(LearningRate) || u == typeof(Shape)
               || typeof(Initializer).IsAssignableFrom(u) || typeof(Regularizer).IsAssignableFrom(u)
               || typeof(Constraint).IsAssignableFrom(u) || u == typeof(ActivationFunction);
    }

    private static object? Convert(ConfigArgs args, string key, Type target)
    {
        var u = Nullable.GetUnderlyingType(target) ?? target;
        if (u == typeof(int)) return args.Int(key);
        if (u == typeof(long)) return args.Long(key);
        if (u == typeof(double)) return args.Double(key);
        if (u == typeof(bool)) return args.Bool(key, false);
        if (u == typeof(string)) return args.String(key);
        if (u == typeof(Shape)) return args.Shape(key);
        if (u == typeof(int[])) return args.IntList(key);
        if (u == typeof(ActivationFunction)) return args.Activation(key, ActivationFunction.Linear);
        if (typeof(Initializer).IsAssignableFrom(u)) return args.Initializer(key, () => new Zeros());
        if (typeof(Regularizer).IsAssignableFrom(u)) return args.Regularizer(key);
        if (typeof(Constraint).IsAssignableFrom(u)) return args.Constraint(key);
        if (u == typeof(double[]) || u == typeof(IReadOnlyList<double>) || u == typeof(IEnumerable<double>)) return DoubleList(args, key);
        if (u == typeof(IReadOnlyList<long>)) return LongList(args, key);
        if (u == typeof(LearningRate))
        {
            var node = args.Node(key);
            if (node is JsonObject schedule) return (LearningRate)Schedule(schedule, args.Context, args.PathOf(key), args.Owner);
            var d = ConfigArgs.AsDouble(node);
            if (d is not { } value || !double.IsFinite(value)) throw args.Bad(key, "a finite number or a learning-rate schedule", node);
            return (LearningRate)value;
        }
        throw args.Fail($"internal error: no conversion for argument '{key}' of type {target.Name}.");
    }

    private static double[] DoubleList(ConfigArgs args, string key)
    {
        var node = args.Node(key);
        if (ConfigArgs.AsDouble(node) is { } single) return [single];
        if (node is not JsonArray a || a.Count > 1_000_000) throw args.Bad(key, "a list of numbers", node);
        var result = new double[a.Count];
        for (int i = 0; i < a.Count; i++)
            result[i] = ConfigArgs.AsDouble(a[i]) ?? throw args.Bad(key, "a list of numbers", node);
        return result;
    }

    private static long[] LongList(ConfigArgs args, string key)
    {
        var node = args.Node(key);
        if (node is not JsonArray a || a.Count > 1_000_000) throw args.Bad(key, "a list of integers", node);
        var result = new long[a.Count];
        for (int i = 0; i < a.Count; i++)
            result[i] = ConfigArgs.AsLong(a[i]) ?? throw args.Bad(key, "a list of integers", node);
        return result;
    }
}
