using Keras.Rnn.Layers;
using Keras.Rnn.Models;

namespace Keras.Rnn.Seq2Seq;

/// <summary>
/// The three models of an encoder–decoder: the teacher-forced <see cref="Training"/> model
/// (<c>[source, decoder input] → target logits</c>), the inference <see cref="Encoder"/>
/// (<c>source → [encoder outputs, decoder initial states...]</c>) and the step <see cref="Decoder"/>
/// (<c>[previous tokens, encoder outputs, source, states...] → [logits, new states..., attention scores]</c>), all
/// sharing the same layers and therefore the same weights — the structure of Keras' <c>lstm_seq2seq</c> example,
/// generalised.
/// </summary>
public sealed class Seq2SeqModels
{
    internal Seq2SeqModels(Seq2SeqConfig config, Model training, Model encoder, Model decoder)
    {
        Config = config;
        Training = training;
        Encoder = encoder;
        Decoder = decoder;
    }

    /// <summary>The configuration the models were built from.</summary>
    public Seq2SeqConfig Config { get; }

    /// <summary>
    /// The teacher-forced training model. Inputs: source (token ids <c>(batch, source_len)</c>, or one-hot) and decoder
    /// input (the target shifted right, starting with the start token). Output: logits over target tokens
    /// <c>(batch, target_len, vocabulary)</c> (softmax probabilities with one-hot inputs).
    /// </summary>
    public Model Training { get; }

    /// <summary>The inference encoder: source → [encoder outputs, decoder initial states (per layer, per state)].</summary>
    public Model Encoder { get; }

    /// <summary>
    /// The step decoder: [decoder tokens, encoder outputs, source, states...] → [logits (batch, steps, vocabulary),
    /// new states..., attention scores (batch, steps, source_len) when the model has attention].
    /// </summary>
    public Model Decoder { get; }

    /// <summary>Number of decoder state tensors (layers × states per layer).</summary>
    public int StateCount => Config.Layers * Config.StatesPerLayer;

    /// <summary>
    /// Runs the encoder on a batch of sources and returns the decoding states of <see cref="Step"/>:
    /// <c>[encoder outputs, source, decoder states...]</c>.
    /// </summary>
    /// <param name="source">Token ids <c>(batch, source_len)</c> (or one-hot <c>(batch, source_len, vocabulary)</c>).</param>
    public IReadOnlyList<TorchSharp.torch.Tensor> Encode(TorchSharp.torch.Tensor source)
    {
        var device = Encoder.EnsureOnDevice();
        var input = Backend.Devices.To(source, device);
        var outputs = Encoder.ApplyAll([input]);
        return [outputs[0], input, .. outputs.Skip(1)];
    }

    /// <summary>
    /// One decoding step for <see cref="SequenceSearch"/>: feeds each row's previous token through the step decoder
    /// and returns log-probabilities, the new states (encoder outputs and source passed through) and the attention
    /// weights when the model has attention.
    /// </summary>
    public DecodeStep Step => (previous, states) =>
    {
        var device = Decoder.EnsureOnDevice();
        var tokens = previous.to(device).unsqueeze(1);
        if (Config.OneHotInputs)
            tokens = TorchSharp.torch.nn.functional.one_hot(tokens, Config.TargetVocabularySize).to_type(TorchSharp.torch.ScalarType.Float32);
        var outputs = Decoder.ApplyAll([tokens, states[0], states[1], .. states.Skip(2)]);
        var scores = outputs[0].select(1, 0);
        // The one-hot variant ends in a softmax (as in Keras' example); the token-id variant returns logits.
        var logProbabilities = Config.OneHotInputs ? scores.clamp_min(1e-12).log() : scores.log_softmax(-1);
        var next = new List<TorchSharp.torch.Tensor> { states[0], states[1] };
        next.AddRange(outputs.Skip(1).Take(StateCount));
        var attention = outputs.Count > 1 + StateCount ? outputs[^1].select(1, 0) : null;
        return (logProbabilities, next, attention);
    };
}

/// <summary>Builds <see cref="Seq2SeqModels"/> from a <see cref="Seq2SeqConfig"/>.</summary>
public static class Seq2SeqBuilder
{
    /// <summary>Builds the training model and the inference encoder and decoder, sharing weights.</summary>
    /// <param name="config">The configuration.</param>
    /// <returns>The three models.</returns>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public static Seq2SeqModels Build(Seq2SeqConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var layers = new SharedLayers(config);

        // ---- training graph
        var source = config.OneHotInputs
            ? KerasApi.Input(shape: [null, config.SourceVocabularySize], name: "encoder_inputs")
            : KerasApi.Input(shape: [null], dtype: "int32", name: "encoder_inputs");
        var target = config.OneHotInputs
            ? KerasApi.Input(shape: [null, config.TargetVocabularySize], name: "decoder_inputs")
            : KerasApi.Input(shape: [null], dtype: "int32", name: "decoder_inputs");
        var (encoderOutputs, encoderStates) = layers.Encode(source);
        var (decoded, _) = layers.DecodeSequence(layers.EmbedTarget(target), encoderStates);
        KerasTensor features = decoded;
        if (layers.Attention is { } attention)
        {
            var context = attention.Apply([decoded, encoderOutputs]).Single();
            features = layers.Combine(decoded, context);
        }
        var logits = layers.Output.Apply(features).Single();
        var training = new Model([source, target], logits, name: "seq2seq_training");

        // ---- inference encoder
        var encoder = new Model(source, [encoderOutputs, .. encoderStates], name: "seq2seq_encoder");

        // ---- step decoder
        var tokens = config.OneHotInputs
            ? KerasApi.Input(shape: [null, config.TargetVocabularySize], name: "decoder_tokens")
            : KerasApi.Input(shape: [null], dtype: "int32", name: "decoder_tokens");
        var memory = KerasApi.Input(shape: [null, encoderOutputs.Shape[-1]], name: "encoder_outputs");
        var sourceIds = config.OneHotInputs
            ? KerasApi.Input(shape: [null, config.SourceVocabularySize], name: "source")
            : KerasApi.Input(shape: [null], dtype: "int32", name: "source");
        var stateInputs = Enumerable.Range(0, config.Layers * config.StatesPerLayer)
            .Select(i => KerasApi.Input(shape: [config.DecoderUnits], name: $"decoder_state_{i}")).ToList();
        var (stepDecoded, stepStates) = layers.DecodeSequence(layers.EmbedTarget(tokens), stateInputs);
        KerasTensor stepFeatures = stepDecoded;
        var decoderOutputs = new List<KerasTensor>();
        KerasTensor? scores = null;
        if (layers.Attention is { } stepAttention)
        {
            // Masks are explicit here: the step decoder's inputs carry none. Source positions that are padding (id 0,
            // or an all-zero one-hot row) are never attended to.
            var sourceMask = config.OneHotInputs
                ? new Lambda(t => t.abs().sum(-1).ne(0), outputShape: s => new Shape(s[0], s[1])).Apply(sourceIds).Single()
                : new NotEqual(0).Apply(sourceIds).Single();
            var tokenMask = config.OneHotInputs
                ? new Lambda(t => torch_ones_mask(t), outputShape: s => new Shape(s[0], s[1])).Apply(tokens).Single()
                : new NotEqual(-1).Apply(tokens).Single();
            var (context, attentionScores) = stepAttention.Apply([stepDecoded, memory], mask: [tokenMask, sourceMask],
                arguments: new Dictionary<string, object?> { ["return_attention_scores"] = true });
            stepFeatures = layers.Combine(stepDecoded, context);
            scores = attentionScores;
        }
        decoderOutputs.Add(layers.Output.Apply(stepFeatures).Single());
        decoderOutputs.AddRange(stepStates);
        if (scores is not null) decoderOutputs.Add(scores);
        var decoderInputs = new List<KerasTensor> { tokens, memory, sourceIds };
        decoderInputs.AddRange(stateInputs);
        var decoder = new Model(decoderInputs, decoderOutputs, name: "seq2seq_decoder");
        return new Seq2SeqModels(config, training, encoder, decoder);
    }

    private static TorchSharp.torch.Tensor torch_ones_mask(TorchSharp.torch.Tensor t) =>
        TorchSharp.torch.ones(t.shape[0], t.shape[1], TorchSharp.torch.ScalarType.Bool, t.device);

    /// <summary>The layers one configuration creates, applied in the training and in the inference graphs.</summary>
    private sealed class SharedLayers
    {
        private readonly Seq2SeqConfig _config;
        private readonly Embedding? _sourceEmbedding;
        private readonly Embedding? _targetEmbedding;
        private readonly Layers.Dropout? _embeddingDropout;
        private readonly List<Layer> _encoderLayers = [];
        private readonly List<RNN> _decoderLayers = [];
        private readonly Concatenate? _stateMerge;
        private readonly Dense? _combine;

        public SharedLayers(Seq2SeqConfig config)
        {
            _config = config;
            if (!config.OneHotInputs)
            {
                _sourceEmbedding = new Embedding(config.SourceVocabularySize, config.EmbeddingDim, maskZero: true, name: "source_embedding");
                _targetEmbedding = new Embedding(config.TargetVocabularySize, config.EmbeddingDim, maskZero: true, name: "target_embedding");
                if (config.Dropout > 0) _embeddingDropout = new Layers.Dropout(config.Dropout, name: "embedding_dropout");
            }
            for (int l = 0; l < config.Layers; l++)
            {
                var rnn = Recurrent(config.Units, $"encoder_{l}");
                _encoderLayers.Add(config.BidirectionalEncoder ? new Bidirectional(rnn, name: $"encoder_bidirectional_{l}") : rnn);
                _decoderLayers.Add(Recurrent(config.DecoderUnits, $"decoder_{l}"));
            }
            if (config.BidirectionalEncoder) _stateMerge = new Concatenate(name: "encoder_state_concat");
            Attention = config.Attention switch
            {
                "luong" => new Attention(name: "attention"),
                "bahdanau" => new AdditiveAttention(name: "attention"),
                _ => null,
            };
            if (Attention is not null) _combine = new Dense(config.AttentionHiddenUnits ?? config.DecoderUnits, activation: "tanh", name: "attention_combine");
            Output = config.OneHotInputs
                ? new Dense(config.TargetVocabularySize, activation: "softmax", name: "decoder_output")
                : new Dense(config.TargetVocabularySize, name: "decoder_output");
        }

        public Layer? Attention { get; }

        public Dense Output { get; }

        private RNN Recurrent(int units, string name) => _config.Cell == "lstm"
            ? new LSTM(units, returnSequences: true, returnState: true, dropout: _config.Dropout, name: name)
            : new GRU(units, returnSequences: true, returnState: true, dropout: _config.Dropout, name: name);

        private KerasTensor Embed(Embedding? embedding, KerasTensor ids)
        {
            if (embedding is null) return ids;
            var x = embedding.Apply(ids).Single();
            return _embeddingDropout is null ? x : _embeddingDropout.Apply(x).Single();
        }

        public KerasTensor EmbedTarget(KerasTensor ids) => Embed(_targetEmbedding, ids);

        /// <summary>Runs the encoder stack; returns its output sequence and the decoder's initial states.</summary>
        public (KerasTensor Outputs, List<KerasTensor> States) Encode(KerasTensor source)
        {
            var x = Embed(_sourceEmbedding, source);
            var states = new List<KerasTensor>();
            int perLayer = _config.StatesPerLayer;
            foreach (var layer in _encoderLayers)
            {
                var outputs = layer.Apply(x);
                x = outputs[0];
                if (_config.BidirectionalEncoder)
                {
                    // Forward states then backward states: join each kind (h, c) into the decoder's double-width state.
                    for (int s = 0; s < perLayer; s++)
                        states.Add(_stateMerge!.Apply([outputs[1 + s], outputs[1 + perLayer + s]]).Single());
                }
                else
                {
                    for (int s = 0; s < perLayer; s++) states.Add(outputs[1 + s]);
                }
            }
            return (x, states);
        }

        /// <summary>Runs the decoder stack from the given states; returns the output sequence and the final states.</summary>
        public (KerasTensor Outputs, List<KerasTensor> States) DecodeSequence(KerasTensor inputs, IReadOnlyList<KerasTensor> initialStates)
        {
            var x = inputs;
            var finals = new List<KerasTensor>();
            int perLayer = _config.StatesPerLayer;
            for (int l = 0; l < _decoderLayers.Count; l++)
            {
                var states = initialStates.Skip(l * perLayer).Take(perLayer).ToList();
                var outputs = _decoderLayers[l].Apply(x, initialState: states);
                x = outputs[0];
                finals.AddRange(outputs.Skip(1));
            }
            return (x, finals);
        }

        /// <summary>Luong's attentional hidden state: tanh(W [decoder output; context]).</summary>
        public KerasTensor Combine(KerasTensor decoded, KerasTensor context) =>
            _combine!.Apply(new Concatenate(name: null).Apply([decoded, context]).Single()).Single();
    }
}
