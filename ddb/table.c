#include "ddb/table.h"
