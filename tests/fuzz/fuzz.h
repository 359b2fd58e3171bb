/*
 * fuzz.h — the libFuzzer entry point every target in tests/fuzz defines.
 *
 * Built with clang -fsanitize=fuzzer (scripts/fuzz.sh) libFuzzer provides
 * main(); built as an ordinary test, replay.c does, feeding every file of
 * the seed corpus to the target once.
 */
#ifndef LEO_FUZZ_H
#define LEO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
