#include "ddb/sigv4.h"
