#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* Set once in main before any thread starts (log_setup), read-only afterwards. */
static struct {
    const char *ident;
    enum log_level threshold;
    int use_syslog;
} sink = {"ddbfs", LOG_LVL_INFO, 0};

void log_setup(const char *ident, enum log_level threshold, int use_syslog)
{
    sink.ident = ident;
    sink.threshold = threshold;
    sink.use_syslog = use_syslog;
    if (use_syslog)
        openlog(ident, LOG_PID, LOG_DAEMON);
}

enum log_level log_threshold(void)
{
    return sink.threshold;
}

static const char *const names[] = {"error", "warning", "info", "debug"};

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > sink.threshold)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (sink.use_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(prio[lvl], "%s: %s", names[lvl], msg);
        return;
    }
    /* One fprintf per line so that lines from several threads do not interleave. */
    fprintf(stderr, "%s: %s: %s\n", sink.ident, names[lvl], msg);
}
