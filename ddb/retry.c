#include "ddb/retry.h"
