#!/bin/sh
# Publishes the benchmark program for a GPU machine that has PyTorch but no .NET: self-contained, trimmed, without
# libtorch (it loads the machine's PyTorch libraries through KERAS_RNN_LIBTORCH). Writes .gpu/app.tar.xz (about 8.5 MB).
# See docs/performance.md, "GPU", for the command that runs it there.
set -e
cd "$(dirname "$0")/../.."
mkdir -p .gpu
rm -rf .gpu/app
dotnet publish tests/Keras.Rnn.Benchmarks -c Release -r linux-x64 --self-contained -p:KerasRnnLibTorch=external -p:PublishTrimmed=true -p:TrimMode=partial -p:JsonSerializerIsReflectionEnabledByDefault=true -p:InvariantGlobalization=true -o .gpu/app 2>&1 | grep -E " error |-> " || true
(cd .gpu/app && rm -f libSkiaSharp.so libHarfBuzzSharp.so libmscordaccore.so libmscordbi.so createdump libclrgcexp.so libclrgc.so *.pdb)
rm -f .gpu/app.tar.xz
tar cf - -C .gpu app | xz -T2 -9 > .gpu/app.tar.xz
ls -la .gpu/app.tar.xz
