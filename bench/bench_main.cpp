// Entry point of kiln_bench (the benchmark definitions live in the other bench/*.cpp files).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
