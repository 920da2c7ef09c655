// The code shown in README.md, compiled and run (dotnet run --project examples/ReadmeExamples).
using Keras.Rnn;
using Keras.Rnn.Callbacks;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Optimizers;
using Keras.Rnn.Seq2Seq;
using Keras.Rnn.Text;
using TorchSharp;

var repository = FindRepository();
Sequential();
Functional();
CustomLayer();
BringYourModel();
Translate(repository);
TrainTranslator(repository);
return 0;

static string FindRepository()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Keras.Rnn.sln"))) return dir.FullName;
    throw new InvalidOperationException("Run from the repository: Keras.Rnn.sln not found above " + AppContext.BaseDirectory);
}

static void Translate(string repository)
{
    Directory.SetCurrentDirectory(repository);
    // README: translate
    var translator = Translator.Load("models/eng-fra/translator.keras");
    Console.WriteLine(translator.Translate("I am very tired.").Text);
    // README: end
}

static void TrainTranslator(string repository)
{
    // Stand-in for your corpus: 400 pairs of the English–Serbian data, trained briefly.
    var folder = Directory.CreateTempSubdirectory("keras-rnn-readme").FullName;
    Directory.SetCurrentDirectory(folder);
    File.WriteAllLines("my-corpus.tsv", File.ReadLines(Path.Combine(repository, "data", "tatoeba-srp-eng", "srp.txt")).Take(400));

    // README: train-translator
    var split = ParallelCorpus.ReadTsv("my-corpus.tsv").Split(validationFraction: 0.05, testFraction: 0.05);
    var config = new Seq2SeqConfig { Cell = "gru", Units = 128, BidirectionalEncoder = true, Attention = "luong" };
    var translator = Translator.Create(split.Train, config, targetTokenizer: new WordTokenizer(frenchSpacing: false));
    translator.Fit(split.Train, split.Validation, epochs: 10);
    Console.WriteLine(translator.EvaluateBleu(split.Test).Score);
    translator.Save("my-translator.keras");
    // README: end
}

static void Sequential()
{
    // README: sequential
    var model = new Sequential(
        new InputLayer([null], dtype: "int32"),          // token ids, any length
        new Embedding(inputDim: 1000, outputDim: 32, maskZero: true),
        new Bidirectional(new LSTM(32, returnSequences: true)),
        new GRU(16),
        new Dense(1, activation: "sigmoid"));
    model.Summary();
    model.Compile(optimizer: "adam", loss: "binary_crossentropy", metrics: ["accuracy"]);

    int[,] tokens = new int[256, 20];                   // 0 = padding
    float[,] labels = new float[256, 1];
    var random = new Random(0);
    for (int i = 0; i < 256; i++)
    {
        int length = random.Next(5, 21);
        for (int t = 0; t < length; t++) tokens[i, t] = random.Next(1, 1000);
        labels[i, 0] = tokens[i, 0] % 2;                // learnable: parity of the first token
    }
    var history = model.Fit(tokens, labels, batchSize: 32, epochs: 3, validationSplit: 0.2,
        callbacks: [new EarlyStopping(monitor: "val_loss", patience: 2)]);
    Console.WriteLine($"final loss {history["loss"][^1]:F4}");
    float[,] probabilities = model.Predict(tokens, verbose: 0).ToArray<float[,]>();
    // README: end
    Console.WriteLine($"p(first) = {probabilities[0, 0]:F3}");
}

static void Functional()
{
    // README: functional
    var encoderInputs = KerasApi.Input(shape: [null, 8], name: "encoder_inputs");
    var (_, h, c) = new LSTM(64, returnState: true).Apply(encoderInputs);

    var decoderInputs = KerasApi.Input(shape: [null, 8], name: "decoder_inputs");
    var decoded = new LSTM(64, returnSequences: true).Apply(decoderInputs, initialState: [h, c]);
    var outputs = new Dense(8, activation: "softmax").Apply(decoded);

    var model = new Model([encoderInputs, decoderInputs], outputs);
    model.Compile(optimizer: new RMSprop(learningRate: 1e-3), loss: "categorical_crossentropy", metrics: ["accuracy"]);

    var encoderData = torch.randn(64, 10, 8);
    var decoderData = torch.randn(64, 7, 8);
    var targets = torch.nn.functional.one_hot(torch.randint(0, 8, [64, 7]), 8).to_type(torch.ScalarType.Float32);
    model.Fit([encoderData, decoderData], targets, batchSize: 16, epochs: 2, verbose: 2);
    // README: end
}

static void BringYourModel()
{
    // Stand-in for a file saved by Python Keras: a small model saved from C#.
    var folder = Directory.CreateTempSubdirectory("keras-rnn-readme").FullName;
    Directory.SetCurrentDirectory(folder);
    var original = new Sequential(new InputLayer([10, 3]), new LSTM(8), new Dense(2, activation: "softmax"));
    original.Compile(optimizer: "adam", loss: "categorical_crossentropy", metrics: ["accuracy"]);
    var inputs = new float[4, 10, 3];
    original.TrainOnBatch(inputs, new float[,] { { 1, 0 }, { 0, 1 }, { 1, 0 }, { 0, 1 } });
    original.Save("model.keras");

    // README: bring
    var model = Model.Load("model.keras");     // a .keras archive, or a legacy .h5 from Keras 1/2 or tf.keras
    model.Summary();
    float[,] predictions = model.Predict(inputs, verbose: 0).ToArray<float[,]>();
    model.SaveWeights("model.weights.h5");     // Keras formats out too: .keras, .weights.h5, legacy .h5
    // README: end
    Console.WriteLine($"loaded and predicted {predictions.GetLength(0)} samples in {folder}");
}

static void CustomLayer()
{
    var model = new Sequential(new InputLayer([4]), new Scale(), new Dense(1));
    model.Compile(optimizer: "sgd", loss: "mse");
    model.Fit(torch.randn(32, 4), torch.randn(32, 1), verbose: 0);
    Console.WriteLine($"custom layer parameters: {model.Layers[0].CountParams()}");
}

// README: custom-layer
/// <summary>Multiplies each feature by a learned factor.</summary>
public sealed class Scale : Layer
{
    private Variable? _alpha;

    public Scale(string? name = null) : base(name) => SupportsMasking = true;

    protected override void BuildCore(IReadOnlyList<Shape> inputShapes) =>
        _alpha = AddWeight("alpha", [inputShapes[0][-1]!.Value], initializer: "ones");

    protected override torch.Tensor Call(torch.Tensor inputs, CallContext context) => inputs * _alpha!.Value;

    public override IReadOnlyList<Shape> ComputeOutputShapes(IReadOnlyList<Shape> inputShapes,
        IReadOnlyDictionary<string, object?> arguments) => inputShapes;
}
// README: end
