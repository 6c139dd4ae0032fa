/* SPDX-License-Identifier: MIT */
/* What the fuzz targets share: libFuzzer's entry points and a check that
 * aborts (a crash libFuzzer saves) when an invariant breaks. */
#ifndef CHORD_FUZZ_H
#define CHORD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with file, line and what when cond is false. */
#define FUZZ_CHECK(cond, what)                                         \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
              (what));                                                 \
      abort();                                                         \
    }                                                                  \
  } while (0)

#endif
