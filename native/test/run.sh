#!/bin/sh
# Build and run the stand-alone kernel test (no Node).
#   native/test/run.sh plain     -O2 build, full run
#   native/test/run.sh asan      AddressSanitizer + UndefinedBehaviorSanitizer
#   native/test/run.sh valgrind  valgrind memcheck (smaller run: memcheck is ~50x slower)
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${TMPDIR:-/tmp}/multiloss-kernel-test
mode=${1:-plain}
src="$here/kernel_test.cc $here/../src/gemm.cc $here/../src/kernels.cc $here/../src/conv.cc $here/../src/threads.cc"
flags="-std=c++17 -ffp-contract=off -fno-math-errno -pthread -Wall -Wextra -Wno-unused-parameter"
case "$mode" in
  plain)
    g++ $flags -O2 -o "$out" $src && "$out" 100 ;;
  asan)
    g++ $flags -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -o "$out-asan" $src
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$out-asan" 100 ;;
  valgrind)
    g++ $flags -O1 -g -o "$out-vg" $src
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$out-vg" 30 ;;
  *)
    echo "usage: $0 [plain|asan|valgrind]"; exit 2 ;;
esac
