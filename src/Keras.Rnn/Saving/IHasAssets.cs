namespace Keras.Rnn.Saving;

/// <summary>
/// A layer that keeps state outside its weights — a vocabulary, a lookup table — as files (Keras'
/// <c>save_assets</c>/<c>load_assets</c> pair). <see cref="Models.Model.Save"/> calls <see cref="SaveAssets"/> for
/// every layer of the model that implements this interface, and <see cref="Models.Model.Load"/> calls
/// <see cref="LoadAssets"/> on the rebuilt layer, as Keras 3's <c>saving_lib</c> does.
/// </summary>
/// <remarks>
/// <para>Which layers: every layer the weights file has a key for — the layers of a <see cref="Models.Sequential"/>
/// or functional model, nested models, the cells and wrapped layers of recurrent wrappers, and the layers a custom
/// layer or subclassed model registers with <c>TrackLayer</c>. A model that carries helpers outside its graph (for
/// example the <see cref="Text.TextVectorization"/> layers of a translator) tracks them in a subclassed
/// <see cref="Models.Model"/> whose config lists them; see <see cref="Text.TextVectorization"/>.</para>
/// <para>Where: the files a layer writes into its folder are stored in the <c>.keras</c> archive under
/// <c>assets/&lt;key&gt;/</c>, the key being the layer's path in the weights file (<c>layers/text_vectorization</c>;
/// empty for the model itself), exactly where Keras keeps them, so the archives Keras writes and reads share them.
/// Entries are read back only under the key of a layer that implements this interface, with sizes bounded and
/// paths that could leave the folder refused. Saving weights alone (<c>SaveWeights</c>, <c>LoadWeights</c>) does not
/// touch assets, as in Keras.</para>
/// </remarks>
public interface IHasAssets
{
    /// <summary>Writes the layer's asset files into <paramref name="directory"/> (which exists and is empty).</summary>
    /// <param name="directory">The layer's own folder; sub-folders may be created in it.</param>
    void SaveAssets(string directory);

    /// <summary>
    /// Restores the layer's state from the files in <paramref name="directory"/>: what <see cref="SaveAssets"/> wrote
    /// there, or what Keras' <c>save_assets</c> of the same class wrote. The folder exists but is empty when the
    /// archive holds no assets for the layer; throw a clear exception if the layer needs them.
    /// </summary>
    /// <param name="directory">The layer's own folder.</param>
    void LoadAssets(string directory);
}
