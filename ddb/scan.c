#include "ddb/scan.h"
