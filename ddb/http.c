#include "ddb/http.h"
