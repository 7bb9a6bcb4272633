#include "ddb/item.h"
