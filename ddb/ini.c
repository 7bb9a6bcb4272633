#include "ddb/ini.h"
