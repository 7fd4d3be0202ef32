/* The CHECK macro of the C tests: a failed condition is printed with the library's last
 * error message and counted in the including file's `failures`. */
#ifndef RVCNN_TESTS_CHECK_H
#define RVCNN_TESTS_CHECK_H

#include <stdio.h>

#include "ruvector_cnn.h"

static int failures;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,        \
                    __LINE__, #cond, rvcnn_last_error_message());                         \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

#endif
