#include "ddb/config.h"
