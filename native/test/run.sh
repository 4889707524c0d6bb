#!/bin/sh
# Build and run the stand-alone kernel test (no Node).
#   native/test/run.sh plain     -O2 build, full run
#   native/test/run.sh asan      AddressSanitizer + UndefinedBehaviorSanitizer
#   native/test/run.sh valgrind  valgrind memcheck (smaller run: memcheck is ~50x slower)
#   native/test/run.sh neon      cross-compiled for arm64 (aarch64-linux-gnu-g++) and run under
#                                qemu-aarch64: an -O2 build and an AddressSanitizer + UBSan build
#                                (smaller runs: emulation is slow). Needs Debian's
#                                g++-aarch64-linux-gnu and qemu-user; exits 3 naming them if absent.
#                                Also compiles and links the addon itself (addon.cc included) for
#                                arm64 with binding.gyp's flags (not run: there is no arm64 Node).
#                                MLK_NEON_ARGS / MLK_NEON_ASAN_ARGS: "scale gemm-cases" of the two runs.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${TMPDIR:-/tmp}/multiloss-kernel-test
mode=${1:-plain}
src_kernels="$here/../src/gemm.cc $here/../src/kernels.cc $here/../src/conv.cc $here/../src/threads.cc"
src="$here/kernel_test.cc $src_kernels"
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
  neon)
    cxx=aarch64-linux-gnu-g++
    sysroot=/usr/aarch64-linux-gnu
    missing=""
    command -v "$cxx" >/dev/null 2>&1 || missing="$missing g++-aarch64-linux-gnu"
    command -v qemu-aarch64 >/dev/null 2>&1 || missing="$missing qemu-user"
    if [ -n "$missing" ]; then
      echo "neon: the arm64 cross toolchain is missing (Debian packages:$missing); install with: apt-get install -y g++-aarch64-linux-gnu qemu-user"
      exit 3
    fi
    run_arm() { qemu-aarch64 -L "$sysroot" "$@"; }
    # AddressSanitizer needs the cross runtime (libasan8-arm64-cross, pulled in by g++-aarch64-linux-gnu).
    asan=0
    case "$("$cxx" -print-file-name=libasan.so)" in /*) asan=1 ;; esac
    "$cxx" $flags -O2 -o "$out-neon" $src &
    p1=$!
    if [ "$asan" = 1 ]; then
      "$cxx" $flags -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
        -o "$out-neon-asan" $src &
      p2=$!
      # Canary: a one-element heap overrun must be reported under qemu, or the sanitizer run proves nothing.
      printf '%s\n' 'int main(int c, char**) { int* p = new int[c]; int r = p[c]; delete[] p; return r; }' >"$out-canary.cc"
      "$cxx" -O0 -fsanitize=address -o "$out-canary" "$out-canary.cc"
      if ASAN_OPTIONS=detect_leaks=0 run_arm "$out-canary" >"$out-canary.log" 2>&1 ||
        ! grep -q heap-buffer-overflow "$out-canary.log"; then
        echo "neon: AddressSanitizer under qemu-aarch64 missed a heap overrun:"; cat "$out-canary.log"; exit 1
      fi
      echo "neon: AddressSanitizer under qemu-aarch64 reports a one-element heap overrun (canary ok)"
    else
      echo "neon: no AddressSanitizer runtime for aarch64 (libasan8-arm64-cross): sanitizer build skipped"
    fi
    wait "$p1"
    [ "$asan" = 1 ] && wait "$p2"
    # The addon for arm64 with binding.gyp's flags (Node's N-API symbols resolve at load time).
    # Node's headers: its install prefix, else node-gyp's cache (as native/build.mjs looks for them).
    nodeinc=$(node -p "const p = require('path'), v = process.version.slice(1);
      [p.join(process.execPath, '../../include/node'), p.join(require('os').homedir(), '.cache/node-gyp', v, 'include/node')]
        .find((d) => require('fs').existsSync(p.join(d, 'node_api.h'))) ?? ''" 2>/dev/null || true)
    rc3=0
    if [ -f "$nodeinc/node_api.h" ]; then
      gypflags=$(node -p "const g = JSON.parse(require('fs').readFileSync('$here/../binding.gyp', 'utf8')).targets[0]; [...g.cflags_cc, ...g.defines.map((d) => '-D' + d)].join(' ')")
      "$cxx" $gypflags -fPIC -shared -Wall -Wextra -Wno-unused-parameter -I"$nodeinc" -Wl,--unresolved-symbols=ignore-all \
        -o "$out-neon-addon.node" "$here/../src/addon.cc" $src_kernels >"$out-neon-addon.log" 2>&1 &
      p3=$!
    else
      echo "neon: no Node headers next to node ($nodeinc): the arm64 addon build is skipped"
      p3=""
    fi
    # Both runs at once (2 cores), then their outputs in order.
    rc1=0 rc2=0
    run_arm "$out-neon" ${MLK_NEON_ARGS:-10 28} >"$out-neon.log" 2>&1 &
    p1=$!
    if [ "$asan" = 1 ]; then
      # LeakSanitizer cannot stop the world under qemu-user: leaks are checked by the x86 asan run.
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_arm "$out-neon-asan" ${MLK_NEON_ASAN_ARGS:-3 7} >"$out-neon-asan.log" 2>&1 &
      p2=$!
      wait "$p2" || rc2=$?
    fi
    wait "$p1" || rc1=$?
    if [ -n "$p3" ]; then
      wait "$p3" || rc3=$?
      echo "== addon (addon.cc + kernels, binding.gyp flags) for aarch64: $([ "$rc3" = 0 ] && echo "built" || echo "FAILED (exit $rc3)")"
      cat "$out-neon-addon.log"
    fi
    echo "== aarch64 -O2 under qemu-aarch64 (exit $rc1)"
    cat "$out-neon.log"
    if [ "$asan" = 1 ]; then
      echo "== aarch64 AddressSanitizer + UBSan under qemu-aarch64 (exit $rc2)"
      cat "$out-neon-asan.log"
    fi
    [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$rc3" = 0 ] ;;
  *)
    echo "usage: $0 [plain|asan|valgrind|neon]"; exit 2 ;;
esac
