#include "ddb/throttle.h"
