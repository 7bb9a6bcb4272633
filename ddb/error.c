#include "ddb/error.h"
