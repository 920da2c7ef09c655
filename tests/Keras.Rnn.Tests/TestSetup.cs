using System.Runtime.CompilerServices;

namespace Keras.Rnn.Tests;

/// <summary>Loads libtorch before any test touches TorchSharp directly.</summary>
internal static class TestSetup
{
    [ModuleInitializer]
    internal static void Initialize() => KerasConfig.InitializeNativeLibraries();
}
