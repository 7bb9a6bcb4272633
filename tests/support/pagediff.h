/* The differential check of ddb/pagestream.c against ddb/page.c, for its unit tests and its fuzz
 * target: one answer read both ways must give the same verdict, reason, items, "Count",
 * "ConsumedCapacity", LastEvaluatedKey and size, however the stream is cut. */
#ifndef TESTS_PAGEDIFF_H
#define TESTS_PAGEDIFF_H

#include <stddef.h>
#include <stdint.h>

/* Reads body[0..len) (borrowed; no NUL needed) with ddb_page_parse and with a ddb_pagestream fed
 * in chunks of step bytes, or when step is 0 in chunks of sizes drawn from seed (a mix of 1 to 8
 * bytes and up to 4 KB, and now and then an empty one). Returns 0 when both agree, or -1 with what
 * differs in msg. */
int pagediff(const char *body, size_t len, size_t step, uint32_t seed, char *msg, size_t msglen);

#endif
