#include "fuzz_bed.h"

#include <string.h>

#define SEPARATOR "\n--\n"

struct script {
    const uint8_t *data;
    size_t size;
    size_t at; /* where the next answer starts */
};

static struct script the_script; /* one bed per process at a time, as the fake itself */

static void respond(struct fake_transport *f, const struct fake_request *rq, struct fake_answer *a,
                    void *ud)
{
    static const long statuses[] = {200, 400, 500, 200};
    struct script *s = ud;
    (void)f;
    (void)rq;
    if (s->at >= s->size) {
        fake_answer_aws_error(a, 400, "ValidationException", "the fuzz script ran out");
        return;
    }
    const uint8_t *start = s->data + s->at;
    size_t left = s->size - s->at;
    const uint8_t *sep = memmem(start, left, SEPARATOR, strlen(SEPARATOR));
    size_t len = sep ? (size_t)(sep - start) : left;
    s->at += len + (sep ? strlen(SEPARATOR) : 0);
    if (len == 0) {
        fake_answer_text(a, 200, "");
        return;
    }
    a->status = statuses[start[0] % 4];
    buf_add(&a->body, start + 1, len - 1);
}

void fuzz_bed_init(struct fake_bed *b, const uint8_t *data, size_t size)
{
    the_script = (struct script){.data = data, .size = size};
    fake_bed_init(b, NULL);
    fake_transport_set_responder(b->ft, respond, &the_script);
}

void fuzz_bed_cleanup(struct fake_bed *b)
{
    fake_bed_cleanup(b);
}
