/* For the fuzz targets that feed DynamoDB answers to the real client: the fuzzer's input is cut
 * into a script of answers, served by the fake transport (tests/support/fake_transport.h) to the
 * client, the scan or the batch writer, on the fake's I/O thread, with virtual time (so backoffs
 * cost nothing).
 *
 * Input: answers separated by the bytes "\n--\n"; the first byte of each picks its HTTP status
 * (200, 400, 500 or 200 again: byte % 4), the rest is its body. When the script runs out, every
 * later request is answered 400 ValidationException, which nothing retries, so every run ends. */
#ifndef TESTS_FUZZ_BED_H
#define TESTS_FUZZ_BED_H

#include <stddef.h>
#include <stdint.h>

#include "fake_transport.h"

/* Starts a bed (client on the fake transport) whose answers come from data (borrowed: it must
 * outlive fuzz_bed_cleanup). */
void fuzz_bed_init(struct fake_bed *b, const uint8_t *data, size_t size);
void fuzz_bed_cleanup(struct fake_bed *b);

#endif
