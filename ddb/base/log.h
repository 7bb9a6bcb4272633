/* Logging: to stderr (foreground, tests) or syslog (daemon). One process-wide sink, set once in
 * main before any thread starts; everything after that only reads it.
 *
 * Never pass secrets (secret keys, session tokens, signatures' inputs) to these functions. */
#ifndef BASE_LOG_H
#define BASE_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Called once in main before threads start. use_syslog: 0 for stderr. */
void log_setup(const char *ident, enum log_level threshold, int use_syslog);
enum log_level log_threshold(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_threshold() >= LOG_LVL_DEBUG)                                                      \
            log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                                   \
    } while (0)

#endif
