/* placeholder */ typedef int cache_placeholder;
