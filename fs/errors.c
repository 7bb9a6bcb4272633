/* Module errors become errno here and nowhere else; each is logged once, with its context. */
#include <errno.h>

#include "base/log.h"
#include "fs/fs.h"

int fs_errno_from_ddb(const struct ddb_error *err, const char *context)
{
    int e;
    switch (err->code) {
    case DDB_OK:
        return 0;
    case DDB_ENOMEM:
        e = ENOMEM;
        break;
    case DDB_ENOTFOUND:
        e = ENOENT;
        break;
    case DDB_EACCESS:
    case DDB_ECREDENTIALS:
        e = EACCES;
        break;
    case DDB_ETIMEOUT:
        e = ETIMEDOUT;
        break;
    case DDB_EINVAL:
    case DDB_EVALIDATION:
        e = EINVAL;
        break;
    case DDB_EINUSE:
        e = EBUSY;
        break;
    case DDB_ECANCELED:
        e = ECANCELED;
        break;
    default:
        e = EIO;
        break;
    }
    log_error("%s: %s%s%s%s", context, err->message, err->request_id[0] ? " (request " : "",
              err->request_id, err->request_id[0] ? ")" : "");
    return -e;
}

int fs_errno_from_cache(enum cache_err code, const char *msg, const char *context)
{
    int e;
    switch (code) {
    case CACHE_OK:
        return 0;
    case CACHE_ENOMEM:
        e = ENOMEM;
        break;
    case CACHE_ENOSPC:
        e = ENOSPC;
        break;
    case CACHE_EINVAL:
        e = EINVAL;
        break;
    default:
        e = EIO;
        break;
    }
    log_error("%s: %s", context, msg && *msg ? msg : cache_strerror(code));
    return -e;
}
