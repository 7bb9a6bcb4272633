#include "ddb/batch.h"
