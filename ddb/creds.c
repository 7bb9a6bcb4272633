#include "ddb/creds.h"
