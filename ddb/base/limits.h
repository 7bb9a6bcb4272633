/* Size caps, in one place (as curl's dynbuf callers keep theirs). Every growable buffer names one. */
#ifndef BASE_LIMITS_H
#define BASE_LIMITS_H

/* DynamoDB's own limits. */
#define DDB_ITEM_MAX (400u * 1024u)              /* one item, as DynamoDB counts it */
#define DDB_SCAN_PAGE_MAX (1u << 20)             /* data read by one Scan page */
#define DDB_BATCH_ITEMS_MAX 25                   /* PutRequests in one BatchWriteItem */
#define DDB_BATCH_REQUEST_MAX (16u << 20)        /* one BatchWriteItem request body */
#define DDB_SEGMENTS_MAX 1000000                 /* TotalSegments */

/* Ours. */
#define DDB_RESPONSE_MAX (64u << 20)             /* a response body we accept (a Scan page is ~2 MB) */
#define DDB_REQUEST_MAX (DDB_BATCH_REQUEST_MAX + (1u << 20)) /* a request body we build */
#define DDB_LINE_MAX (DDB_BATCH_REQUEST_MAX)     /* one restore line */
#define DDB_ERRMSG_MAX 1024                      /* an error message kept for the user */
#define DDB_CREDS_PROCESS_OUTPUT_MAX (64u << 10) /* credential_process stdout */
#define DDB_CREDS_ANSWER_MAX (64u << 10)         /* a metadata, container or STS answer */
#define DDB_SIGV4_TEXT_MAX (64u << 10)           /* a canonical request or string to sign */
#define DDB_CONFIG_FILE_MAX (4u << 20)           /* ~/.aws/config or credentials */

#endif
