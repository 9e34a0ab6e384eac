#!/usr/bin/env bash
# README command (b): install dependencies, build runsc three times (release with gcc, ASan+UBSan,
# and release with clang, since the code must build clean under both compilers), and run the whole
# test suite against each: unit tests, differential guest tests, integration tests; and, for the
# release build, the CI subset of CPython's own test suite (tools/pysuite.sh --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
jobs=$(nproc)
status=0
for variant in release asan clang; do
    compiler=gcc
    case $variant in
    release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
    asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DRUNSC_SANITIZE=ON) ;;
    clang) flags=(-DCMAKE_BUILD_TYPE=Release -DRUNSC_FUZZ=ON) compiler=clang ;;
    esac
    echo "=== $variant build"
    CC=$compiler cmake -S . -B "build/$variant" "${flags[@]}" >/dev/null
    cmake --build "build/$variant" -j"$jobs"
    echo "=== $variant tests"
    # The engine tests (ctest label "engines": Podman, containerd and Docker driving runc and
    # runsc) and the stress-ng run (label "stress") run once, in the release build; the
    # sanitizer and clang builds add nothing there.
    exclude=()
    [[ $variant == release ]] || exclude=(-LE "engines|stress")
    ctest --test-dir "build/$variant" --output-on-failure -j"$jobs" "${exclude[@]}" || status=1
    if [[ $variant == release ]]; then
        # CPython's own tests of the file-facing modules, natively and in runsc (a time-bounded
        # subset; tools/pysuite.md): each module must pass 95% of its native passes.
        echo "=== release: CPython test suite subset"
        tools/pysuite.sh --quick -v || status=1
    fi
done
exit $status
