#include "ddb/client.h"
